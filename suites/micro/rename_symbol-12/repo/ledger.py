def load(a, b):
    return a - b


def apply_all(items):
    return [load(x, 4) for x in items]
