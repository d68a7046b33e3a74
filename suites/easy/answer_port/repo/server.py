from settings import HOST, PORT

print('serving on', HOST, PORT)
