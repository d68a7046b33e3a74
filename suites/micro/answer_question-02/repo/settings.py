HOST = "db.local"
PORT = 3976
USER = "dev"
