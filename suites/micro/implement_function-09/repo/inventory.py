def reverse(text):
    """Return text backwards."""
    raise NotImplementedError
