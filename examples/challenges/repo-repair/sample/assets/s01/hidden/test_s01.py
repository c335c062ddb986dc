from calc.ops import multiply


def test_product():
    assert multiply(3, 4) == 12
