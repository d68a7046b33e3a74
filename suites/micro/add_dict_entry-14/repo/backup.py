AGES = {'mango': 5, 'pear': 14}
