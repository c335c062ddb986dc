def needs_reorder(quantity, threshold):
    """True when stock is at or below the threshold."""
    return quantity < threshold
