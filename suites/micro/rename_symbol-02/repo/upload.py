def helper(a, b):
    return a - b


def apply_all(items):
    return [helper(x, 8) for x in items]
