LIMITS = {'mango': 78, 'melon': 58, 'kiwi': 2}
