def is_bigger(a, b):
    return a < b
