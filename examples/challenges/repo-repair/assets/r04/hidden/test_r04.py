from stock.levels import needs_reorder


def test_at_threshold():
    assert needs_reorder(5, 5)


def test_above():
    assert not needs_reorder(6, 5)
