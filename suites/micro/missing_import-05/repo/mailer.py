def letter(a, b):
    return string.ascii_lowercase[a + b]
