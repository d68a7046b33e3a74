FRUITS = ['apple', 'banana']


def count():
    return len(FRUITS)
