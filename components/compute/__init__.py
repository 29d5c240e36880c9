"""Compute components."""
