from ledger import count_items


def test_count_items():
    assert count_items([1, 2]) == 2
