"""Storage components."""
