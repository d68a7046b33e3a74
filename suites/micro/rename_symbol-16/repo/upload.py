def get_total(a, b):
    return a * b


def apply_all(items):
    return [get_total(x, 5) for x in items]
