"""The Pulumi program: ``pulumi preview|up`` runs this (Pulumi.yaml: ``main: infra/``).

The stack name selects the site and the part of it the stack deploys (``infra/stacks.py``):
``<site>`` the cluster operators, ``<site>.fabric``, ``<site>.pool-<pool>``, ``<site>.tenants``,
``<site>.storage``; the site file is ``site-configs/<site>.yaml``. Stack config may override it:

- ``gigafactory:siteConfig``: the site file (relative to the repository root, or absolute);
- ``gigafactory:kubeContext``: the kubeconfig context (default: the site file's ``site.kube_context``);
- one Pulumi config secret per name the site file references (``infra.site.secret_names``).

A site file with errors, or a valid one that cannot be planned (a fabric beyond three tiers),
logs every problem (``file:line:col: field: message``) and the program fails without a Python
traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Pulumi runs this file with infra/ as the script directory; the packages live one level up.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import pulumi  # noqa: E402

from infra.config.errors import SiteConfigError  # noqa: E402
from infra.config.loader import SiteFile, load_site_file  # noqa: E402


def site_file(stack: str, configured: str | None) -> Path:
    """The site config a stack deploys: ``configured`` if set, else ``site-configs/<site>.yaml``."""
    from infra.stacks import split_stack_name

    path = Path(configured) if configured else Path("site-configs") / f"{split_stack_name(stack)[0]}.yaml"
    return path if path.is_absolute() else REPO_ROOT / path


def load(path: Path) -> SiteFile:
    """The valid site file, or every error logged and a ``RunError`` (no traceback)."""
    try:
        return load_site_file(path)
    except SiteConfigError as exc:
        for error in exc.errors:
            pulumi.log.error(str(error))
        count = len(exc.errors)
        raise pulumi.RunError(f"{path}: {count} error{'s' if count != 1 else ''} in the site config") from None


def main() -> None:
    """Compose the stack's site and export its summary."""
    from infra.errors import PlanningError
    from infra.site import build_site, site_summary
    from infra.stacks import site_stacks, split_stack_name, stack_part

    stack = pulumi.get_stack()
    config = pulumi.Config("gigafactory")
    path = site_file(stack, config.get("siteConfig"))
    if not path.is_file():
        raise pulumi.RunError(
            f"stack {stack!r}: no site config at {path}; name the stack after a file in site-configs/ "
            "or set `pulumi config set gigafactory:siteConfig <path>`"
        )
    loaded = load(path)
    site_config = loaded.config
    site_name, part_key = split_stack_name(stack)
    if site_config.site.name != site_name and config.get("siteConfig") is None:
        pulumi.log.warn(f"stack {stack!r} deploys site {site_config.site.name!r} from {path}")
    part = stack_part(site_config, part_key)
    if part is None:
        names = ", ".join(f"{site_name}{s.stack.removeprefix(site_config.site.name)}" for s in site_stacks(site_config))
        raise pulumi.RunError(
            f"stack {stack!r}: site {site_config.site.name!r} has no part {part_key!r}; its stacks: {names}"
        )
    try:
        site = build_site(site_config, kube_context=config.get("kubeContext"), part=part)
    except PlanningError as exc:
        # Planning problems (fabric, addressing) name the config field to change, at its line.
        problems = loaded.planning_errors(exc)
        for problem in problems:
            pulumi.log.error(str(problem))
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise pulumi.RunError(f"{path}: the site cannot be planned ({count})") from None
    for key, value in site_summary(site).items():
        pulumi.export(key, value)


main()
