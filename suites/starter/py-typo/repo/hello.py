print('Hello, wrold')
