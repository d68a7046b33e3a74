HOST = "cache01"
PORT = 1080
USER = "ann"
