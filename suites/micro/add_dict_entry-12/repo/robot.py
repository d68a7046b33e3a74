AGES = {'mango': 85, 'cherry': 51}
