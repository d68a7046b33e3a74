def product(a, b):
    return functools.reduce(lambda x, y: x * y, [a, b, 2])
