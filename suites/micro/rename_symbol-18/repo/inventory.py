def calc(a, b):
    return a + b


def apply_all(items):
    return [calc(x, 3) for x in items]
