from inventory import reverse


def test_reverse():
    assert reverse('abc') == 'cba'
