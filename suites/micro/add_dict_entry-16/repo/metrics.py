WEIGHTS = {'mango': 48, 'plum': 60}
