AGES = {'grape': 68, 'cherry': 52, 'plum': 67}
