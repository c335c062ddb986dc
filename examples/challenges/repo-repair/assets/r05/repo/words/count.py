def count_words(text):
    """How many whitespace-separated words the text holds."""
    return len(text.split(" "))
