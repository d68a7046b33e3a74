from scheduler import double


def test_double():
    assert double(4) == 8
    assert double(0) == 0
