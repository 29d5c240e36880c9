"""Tenant isolation: admission policies and what enforces each guarantee."""
