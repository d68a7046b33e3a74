WEIGHTS = {'lemon': 98, 'cherry': 49, 'apple': 48, 'fig': 52}
