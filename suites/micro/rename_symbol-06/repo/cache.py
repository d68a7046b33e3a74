def compute(a, b):
    return a * b


def apply_all(items):
    return [compute(x, 2) for x in items]
