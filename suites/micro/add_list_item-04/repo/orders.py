FRUITS = ['plum', 'mango', 'fig']
