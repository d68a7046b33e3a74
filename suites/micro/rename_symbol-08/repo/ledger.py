def proc(a, b):
    return a * b


def apply_all(items):
    return [proc(x, 8) for x in items]
