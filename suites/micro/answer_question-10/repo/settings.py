HOST = "api.example.org"
PORT = 4006
USER = "gina"
