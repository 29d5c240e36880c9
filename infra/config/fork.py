"""Fork a site: a new site file with another site's shape and every environment value left blank.

The new file extends the same base as the source and carries over what the source's own file
writes (node pools, fabrics, storage, operator choices, tenants and their quotas). Every value of
a field the schema marks with ``environment(...)`` becomes an explicit ``<fill: ...>`` placeholder,
which validation reports, one line each, until the new site's own value is written there. The
site's name is the one exception: it is the name the user gave the new site.
"""

from __future__ import annotations

import copy
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from infra.config.errors import ConfigError, dotted_path, error_summary
from infra.config.layer_schema import BUNDLED_SCHEMA
from infra.config.loader import EXTENDS, PLACEHOLDER, check_site, display_path, find_model, load_layers, value_at
from infra.config.model import SiteConfig, prefix_for
from infra.config.types import dns_label
from infra.config.yamlvalues import HexInt, YamlFloat
from infra.errors import ConfigPath, GigafactoryError
from infra.inputs import real_path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE = "new-site.yaml.j2"
SITE_NAME: ConfigPath = ("site", "name")
SCHEMA_FILE = Path(BUNDLED_SCHEMA).name


class ForkError(GigafactoryError):
    """The fork cannot be written; ``lines`` says why, one problem per line."""

    def __init__(self, lines: list[str], source_errors: Sequence[ConfigError] = ()) -> None:
        self.lines = lines
        # The source site's own errors, when it is the source that stops the fork.
        self.source_errors = tuple(source_errors)
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class ForkedSite:
    """A new site file, not yet written: where it goes, its text and what is left to fill in."""

    path: Path
    text: str
    placeholders: tuple[str, ...]


def is_environment(field: FieldInfo) -> bool:
    """Whether the schema marks ``field`` as belonging to one site (see ``types.environment``)."""
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get("environment") is True


def _has_environment(model: type[BaseModel], seen: frozenset[type[BaseModel]] = frozenset()) -> bool:
    for field in model.model_fields.values():
        inner = find_model(field.annotation)
        if inner is not None and inner not in seen and _has_environment(inner, seen | {model}):
            return True
        if inner is None and is_environment(field):
            return True
    return False


def environment_paths(
    data: Any, model: type[BaseModel] = SiteConfig, path: ConfigPath = ()
) -> Iterator[tuple[ConfigPath, FieldInfo]]:
    """Every environment-specific value written in ``data`` (shaped like ``model``), in file order.

    A marked field that holds models (a list of rail subnets) keeps its structure: the marked
    fields inside it are the values. A marked field left out or null yields nothing.
    """
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None or value is None:
            continue
        inner = find_model(field.annotation)
        if inner is not None and _has_environment(inner):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    yield from environment_paths(item, inner, (*path, key, i))
            else:
                yield from environment_paths(value, inner, (*path, key))
        elif is_environment(field):
            yield (*path, key), field


def placeholder(field: FieldInfo) -> str:
    """The placeholder written for ``field``: ``<fill: what goes here>``."""
    what = (field.description or "this site's own value").rstrip(".")
    return f"{PLACEHOLDER} {what}>"


def _put(target: Any, merged: dict[str, Any], path: ConfigPath, value: Any) -> None:
    """Set ``value`` at ``path`` in ``target``, copying what is missing on the way from ``merged``."""
    here: Any = target
    for depth, part in enumerate(path[:-1]):
        if isinstance(here, dict) and part not in here:
            # Written only in a base: the fork must hold it to put a placeholder inside it.
            here[part] = _plain(copy.deepcopy(value_at(merged, path[: depth + 1])))
        here = here[part]
    here[path[-1]] = value


def _plain(value: Any) -> Any:
    """``value`` with the loader's scalar types turned into what the round-trip writer writes back."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (HexInt, YamlFloat)):
        # Read back from the text the user wrote, so 0x8001 and 1.30 keep their spelling.
        return _round_trip().load(repr(value) if isinstance(value, HexInt) else value.source)
    return value


def _round_trip() -> YAML:
    """A YAML 1.2 round-trip reader/writer laid out as the bundled site files are."""
    handler = YAML(typ="rt")
    handler.preserve_quotes = True
    # Wide enough that no placeholder is folded over two lines.
    handler.width = 4096
    handler.indent(mapping=2, sequence=4, offset=2)
    return handler


def _subnet_placeholder(config: SiteConfig, path: ConfigPath) -> str | None:
    """The placeholder of a subnet, saying the size it must have; None for other fields."""
    if path == ("fabrics", "storage", "subnet"):
        need, what = config.storage_address_need(), "storage ports (nodes x hcas.storage)"
    elif path[:3] == ("fabrics", "compute", "ipoib_subnets") and path[-1] == "subnet":
        rail = config.fabrics.compute.ipoib_subnets[int(path[3])].rail
        need = config.rail_address_need(rail)
        what = f"pod addresses on rail {rail} ({config.rail_addresses_per_node(rail)} per node)"
    else:
        return None
    prefix = prefix_for(need)
    size = f"/{prefix} or larger" if prefix is not None else "a larger subnet"
    return f"{PLACEHOLDER} {size}: {need:,} {what}>"


def carve_rail_subnets(config: SiteConfig, supernet: IPv4Network) -> dict[int, IPv4Network]:
    """One subnet per compute rail (by index in ``ipoib_subnets``), each as small as it may be.

    Largest first, so every block stays aligned; raises ``ForkError`` when ``supernet`` is too small.
    """
    rails = config.fabrics.compute.ipoib_subnets
    sizes = {index: prefix_for(config.rail_address_need(rail.rail)) or 0 for index, rail in enumerate(rails)}
    carved: dict[int, IPv4Network] = {}
    cursor, end = int(supernet.network_address), int(supernet.broadcast_address) + 1
    for index in sorted(sizes, key=lambda i: (sizes[i], i)):
        if sizes[index] < supernet.prefixlen or cursor + (1 << (32 - sizes[index])) > end:
            break
        carved[index] = IPv4Network((cursor, sizes[index]))
        cursor += carved[index].num_addresses
    if len(carved) != len(rails):
        total = sum(1 << (32 - prefix) for prefix in sizes.values())
        raise ForkError(
            [
                f"--ipoib-supernet {supernet}: too small for the {len(rails)} compute rails, which need "
                f"{total:,} addresses in all; give a /{32 - (total - 1).bit_length()} or larger"
            ]
        )
    return carved


def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return environment.get_template(TEMPLATE)


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(real_path(target), real_path(start))).as_posix()


def _source_errors(source: Path, errors: list[ConfigError]) -> ForkError:
    summary = error_summary(display_path(source), len(errors), "fix the source site first")
    return ForkError([*(str(e) for e in errors), summary], errors)


def find_schema(start: Path) -> Path | None:
    """The bundled layer schema (``site-layer.schema.json``) in ``start`` or a folder above it."""
    for folder in (real_path(start), *real_path(start).parents):
        for candidate in (folder / SCHEMA_FILE, folder / "site-configs" / SCHEMA_FILE):
            if candidate.is_file():
                return candidate
    return None


def resolve_source(text: str, directory: Path) -> Path:
    """The site file ``--from`` names: a path, or a site name looked up in ``directory`` and site-configs/."""
    given = Path(text)
    if given.suffix in (".yaml", ".yml") or given.exists() or "/" in text:
        return given
    for folder in (directory, Path("site-configs")):
        candidate = folder / f"{text}.yaml"
        if candidate.is_file():
            return candidate
    return given


def fork_site(source: Path, name: str, directory: Path, *, ipoib_supernet: IPv4Network | None = None) -> ForkedSite:
    """The text of ``<directory>/<name>.yaml`` forked from ``source``; raises ``ForkError``.

    The source's own text is kept as written (comments, order, quoting: a YAML round trip), its
    environment values replaced by placeholders; with ``ipoib_supernet`` the compute rails' subnets
    are carved from it instead.
    """
    try:
        dns_label(name)
    except ValueError as exc:
        raise ForkError([f"new site name {name!r}: {exc}"]) from None
    target = directory / f"{name}.yaml"
    if target.exists():
        raise ForkError([f"{display_path(target)}: already exists; new-site never overwrites a site file"])
    config, errors = check_site(source)
    layers, layer_errors = load_layers(source)
    if config is None or layers is None:
        raise _source_errors(source, errors or layer_errors)
    carved = carve_rail_subnets(config, ipoib_supernet) if ipoib_supernet is not None else {}

    handler = _round_trip()
    own = handler.load(source.read_text(encoding="utf-8"))
    if not isinstance(own, dict):
        raise _source_errors(source, errors)
    blanks: list[str] = []
    for path, field in environment_paths(layers.data):
        if path == SITE_NAME:
            _put(own, layers.data, path, name)
        elif path[:3] == ("fabrics", "compute", "ipoib_subnets") and int(path[3]) in carved:
            _put(own, layers.data, path, str(carved[int(path[3])]))
        else:
            text = _subnet_placeholder(config, path) or placeholder(field)
            _put(own, layers.data, path, SingleQuotedScalarString(text))
            blanks.append(dotted_path(path))
    extends = own.get(EXTENDS)
    if isinstance(extends, str):
        own[EXTENDS] = _relative(source.parent / extends, directory)
    body = io.StringIO()
    handler.dump(own, body)
    schema = find_schema(source.parent)
    header = _template().render(
        name=name,
        source=_relative(source, directory),
        schema=_relative(schema, directory) if schema is not None else SCHEMA_FILE,
        placeholders=blanks,
    )
    return ForkedSite(target, header + body.getvalue(), tuple(blanks))
