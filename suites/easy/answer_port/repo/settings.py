HOST = 'localhost'
PORT = 8042
DEBUG = False
