"""Tenancy components."""
