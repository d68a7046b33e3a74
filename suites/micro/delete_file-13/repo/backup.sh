print the survey
