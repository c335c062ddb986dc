from textutil.case import shout


def test_shout():
    assert shout("hey") == "HEY!"
