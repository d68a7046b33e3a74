def f(a, b):
    return a - b


def apply_all(items):
    return [f(x, 7) for x in items]
