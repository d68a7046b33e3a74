FRUITS = ['fig', 'pear']
