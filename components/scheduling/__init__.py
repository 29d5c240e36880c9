"""Scheduling components."""
