LIMITS = {'mango': 97, 'grape': 24}
