STOCK = {'peach': 63, 'mango': 21, 'banana': 43}
