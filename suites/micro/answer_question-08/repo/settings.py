HOST = "db.local"
PORT = 5864
USER = "farid"
