LIMITS = {'cherry': 28, 'apple': 69}
