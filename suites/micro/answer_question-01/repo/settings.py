HOST = "cache01"
PORT = 6394
USER = "carla"
