def handle(a, b):
    return a - b


def apply_all(items):
    return [handle(x, 2) for x in items]
