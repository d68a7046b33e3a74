COLORS = ['yellow', 'brown', 'purple']
