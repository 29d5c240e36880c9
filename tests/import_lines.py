"""The modules a Python file imports, read from its syntax tree (for the tests of the import rules)."""

from __future__ import annotations

import ast


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Line and module of each import in ``tree``: ``import a.b`` gives ``a.b``, ``from a import b`` ``a``
    (a relative ``from .a import b`` gives ``a``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
    return found
