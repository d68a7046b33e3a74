VERSION = '1.4.2'
NAME = 'demo'
