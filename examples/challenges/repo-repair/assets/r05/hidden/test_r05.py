from words.count import count_words


def test_spaces():
    assert count_words("  two   words ") == 2


def test_empty():
    assert count_words("") == 0
