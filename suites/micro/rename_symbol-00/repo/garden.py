def f(a, b):
    return a - b


def apply_all(items):
    return [f(x, 8) for x in items]
