"""Planning problems are placed in the site's files by config, not by the planners (which do no I/O)."""

from __future__ import annotations

import ast
from pathlib import Path

from import_lines import imported_modules
from sitefiles import BASE, SiteFiles

import infra.plan
from infra.config.loader import SiteFile, read_site
from infra.errors import Problem
from infra.plan.addressing import AddressingError
from infra.plan.fabric import FabricPlanError


def _loaded(site_files: SiteFiles) -> SiteFile:
    site, errors = read_site(site_files.write())
    assert site is not None, errors
    return site


def test_planning_errors_without_problems_are_reported_against_the_file(site_files: SiteFiles) -> None:
    problem = AddressingError("rail 0: 10.100.0.0/28 has 14 host addresses for 128 nodes")
    errors = _loaded(site_files).planning_errors(problem)
    assert [str(e) for e in errors] == ["site.yaml: rail 0: 10.100.0.0/28 has 14 host addresses for 128 nodes"]


def test_problems_are_placed_where_their_layer_wrote_the_value(site_files: SiteFiles) -> None:
    site = _loaded(site_files)
    error = FabricPlanError(
        [
            Problem(("node_pools", 0, "name"), "too long", "shorten it"),
            Problem(("fabrics", "compute", "subnet_manager"), "not here", None),
        ]
    )
    # Placed with the document the loader read: an edit to the file since does not move them.
    site.path.write_text("changed since it was read\n", encoding="utf-8")
    lines = [str(e) for e in site.planning_errors(error)]
    # subnet_manager is written by base.yaml, the pool by site.yaml: each at its own file:line:col.
    assert [line.split(":", 1)[0] for line in lines] == ["base.yaml", "site.yaml"], lines
    assert lines[1].endswith("node_pools[0].name: too long\n  hint: shorten it"), lines
    base_line = next(n for n, text in enumerate(BASE.splitlines(), 1) if "subnet_manager:" in text)
    assert lines[0].startswith(f"base.yaml:{base_line}:"), lines


_IO_MODULES = {"infra.config.loader", "infra.config.yamldoc", "infra.inputs", "infra.atomic_write", "yaml", "ruamel"}
_IO_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "load_layers", "check_site"}


def test_the_planners_do_no_io() -> None:
    found = []
    for path in sorted(Path(infra.plan.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [
            f"{path.name}:{line}: imports {n}"
            for line, n in imported_modules(tree)
            if n.split(".")[0] in _IO_MODULES or n in _IO_MODULES
        ]
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in _IO_CALLS:
                    found.append(f"{path.name}:{node.lineno}: calls {called}")
    assert found == [], "infra/plan reads or writes files; that belongs to infra/config (or the commands)"
