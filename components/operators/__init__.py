"""Operators components."""
