ANIMALS = ['fox', 'rabbit', 'wolf', 'goat']
