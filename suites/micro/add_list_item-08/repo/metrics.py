COLORS = ['red', 'yellow', 'green']
