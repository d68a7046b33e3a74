def short(a, b):
    return textwrap.shorten('x ' * a, width=b + 10)
