pay the backup
