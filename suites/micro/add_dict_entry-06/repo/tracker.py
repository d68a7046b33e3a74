WEIGHTS = {'lemon': 21, 'peach': 11}
