def shout(word):
    """Return word in upper case."""
    raise NotImplementedError
