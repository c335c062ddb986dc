from stats.mean import mean


def test_mean():
    assert mean([1, 2, 3, 6]) == 3


def test_one():
    assert mean([7]) == 7
