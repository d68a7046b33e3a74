from server import biggest


def test_biggest():
    assert biggest([3, 9, 2]) == 9
