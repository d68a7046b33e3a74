def biggest(items):
    """Return the largest item."""
    raise NotImplementedError
