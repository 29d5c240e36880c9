"""Reusable Pulumi components of a gigafactory site, one per module, grouped by domain.

Each takes a typed ``<Name>Args``, registers its children with ``parent=self`` and receives its
``kubernetes.Provider`` through ``opts``; none builds a provider.
"""
