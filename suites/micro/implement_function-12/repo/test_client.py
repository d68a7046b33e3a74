from client import add_tax


def test_add_tax():
    assert add_tax(5) == 15
