"""A folder of Helm charts (chart directories or ``.tgz`` archives), indexed by chart name and version.

Users fill it once with ``helm pull`` (README, "Rendering the charts"); the tests use
``../shared/charts`` (``tests/kube_schemas.py``, ``default_charts_dir``). A release finds its chart
by the chart's name (the last part of the release's ``chart``: a repository chart name, an
``oci://`` reference or a local ``.tgz`` path) and the version it pins. Versions are compared
without a leading ``v``: Helm resolves ``v26.4.1`` to the chart version ``26.4.1`` (both are the
same semantic version), and publishers differ in whether they tag with it.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from infra.errors import BadInputError


class ChartFolderError(BadInputError):
    """The chart folder cannot be read, or lacks a chart a release needs."""


def plain_version(version: str) -> str:
    """A chart version without its leading ``v`` (``v26.4.1`` -> ``26.4.1``)."""
    return version[1:] if version[:1] in ("v", "V") else version


def chart_name(reference: str, version: str) -> str:
    """The chart's own name from a release's ``chart`` field.

    ``gpu-operator`` -> ``gpu-operator``; ``oci://registry.k8s.io/kueue/charts/kueue`` -> ``kueue``;
    ``./vendor/charts/exa-csi-2.7.0.tgz`` -> ``exa-csi`` (``helm package`` names archives
    ``<name>-<version>.tgz``).
    """
    name = reference.rstrip("/").rsplit("/", 1)[-1]
    if name.endswith(".tgz"):
        name = name.removesuffix(".tgz")
        for suffix in (f"-{version}", f"-{plain_version(version)}"):
            if name.endswith(suffix):
                return name.removesuffix(suffix)
    return name


@dataclass(frozen=True)
class ChartEntry:
    """One chart of the folder: its name, version (as its Chart.yaml writes it) and where it is."""

    name: str
    version: str
    path: Path


def _chart_yaml(path: Path) -> dict[str, object] | None:
    """The Chart.yaml of a chart directory or archive, or None when ``path`` is not a chart."""
    try:
        if path.is_dir():
            text = (path / "Chart.yaml").read_text(encoding="utf-8")
        elif path.name.endswith(".tgz"):
            with tarfile.open(path, "r:gz") as archive:
                # An archive holds one top folder, the chart's name: <name>/Chart.yaml.
                members = archive.getmembers()
                member = next(m for m in members if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml"))
                handle = archive.extractfile(member)
                if handle is None:
                    return None
                text = handle.read().decode("utf-8")
        else:
            return None
    except (OSError, StopIteration, tarfile.TarError, UnicodeDecodeError):
        return None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return document if isinstance(document, dict) else None


class ChartFolder:
    """The charts in one folder (not searched recursively: each entry is a chart)."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ChartFolderError(f"{root}: not a folder of charts\n  hint: pass the folder you `helm pull`ed into")
        self.root = root
        self.entries: list[ChartEntry] = []
        for path in sorted(root.iterdir()):
            meta = _chart_yaml(path)
            if meta is not None and meta.get("name") and meta.get("version"):
                self.entries.append(ChartEntry(str(meta["name"]), str(meta["version"]), path))

    def find(self, name: str, version: str) -> ChartEntry | None:
        """The chart ``name`` at ``version`` (leading ``v`` ignored), if the folder has it."""
        wanted = plain_version(version)
        for entry in self.entries:
            if entry.name == name and plain_version(entry.version) == wanted:
                return entry
        return None

    def missing_hint(self, name: str, version: str, repository: str | None, reference: str) -> str:
        """How to fill the folder with the chart ``name`` at ``version``."""
        others = sorted({e.version for e in self.entries if e.name == name})
        have = f" (the folder has {name} {', '.join(others)})" if others else ""
        if reference.startswith("oci://"):
            pull = f"helm pull {reference} --version {version} -d {self.root}"
        elif repository:
            pull = f"helm pull {name} --repo {repository} --version {version} -d {self.root}"
        else:
            pull = f"copy {reference} into {self.root}"
        return f"{pull}{have}"
