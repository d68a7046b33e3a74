COLORS = ['purple', 'white', 'brown']
