"""Fork a site: a new site file with another site's shape and every environment value left blank.

The new file extends the same base as the source and carries over what the source's own file
writes (node pools, fabrics, storage, operator choices, tenants and their quotas). Every value of
a field the schema marks with ``environment(...)`` becomes an explicit ``<fill: ...>`` placeholder,
which validation reports, one line each, until the new site's own value is written there. The
site's name is the one exception: it is the name the user gave the new site.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from infra.config.errors import ConfigError, dotted_path, error_summary
from infra.config.loader import EXTENDS, PLACEHOLDER, check_site, display_path, find_model, load_layers, value_at
from infra.config.model import SiteConfig
from infra.config.rules import ConfigPath
from infra.config.types import dns_label
from infra.config.yamldoc import read_yaml, resolve_plain_scalar
from infra.config.yamlvalues import HexInt, YamlFloat

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE = "new-site.yaml.j2"
SITE_NAME: ConfigPath = ("site", "name")
FLOW_WIDTH = 80


class ForkError(Exception):
    """The fork cannot be written; ``lines`` says why, one problem per line."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
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


def _put(target: dict[str, Any], merged: dict[str, Any], path: ConfigPath, value: Any) -> None:
    """Set ``value`` at ``path`` in ``target``, copying what is missing on the way from ``merged``."""
    here: Any = target
    for depth, part in enumerate(path[:-1]):
        if isinstance(here, dict) and part not in here:
            # Written only in a base: the fork must hold it to put a placeholder inside it.
            here[part] = copy.deepcopy(value_at(merged, path[: depth + 1]))
        here = here[part]
    here[path[-1]] = value


class _Dumper(yaml.SafeDumper):
    """Writes values so that the loader reads them back as the same values (YAML 1.2)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML quotes what YAML 1.1 would misread (NO, 1.30); also quote what YAML 1.2 would (1e3).
    # Line breaks and control characters (NEL, U+2028) only survive as escapes in double quotes.
    plain = resolve_plain_scalar(value)
    style = '"' if not value.isprintable() else None if type(plain) is str and plain == value else "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_hex(dumper: yaml.SafeDumper, value: HexInt) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:int", f"0x{int(value):04x}")


def _represent_float(dumper: yaml.SafeDumper, value: YamlFloat) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float", value.source)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.MappingNode:
    # A short mapping of scalars reads best on one line ({compute: 8, storage: 2}); the rest in blocks.
    short = sum(len(str(k)) + len(str(v)) + 4 for k, v in value.items()) <= FLOW_WIDTH
    flow = bool(value) and short and all(_is_scalar(v) for v in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=flow)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(_is_scalar(v) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(HexInt, _represent_hex)
_Dumper.add_representer(YamlFloat, _represent_float)


def to_yaml(value: Any) -> str:
    """Block YAML for ``value``; collections of scalars stay on one line, as people write them."""
    text: str = yaml.dump(value, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    return text.removesuffix("...\n").rstrip("\n")


def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters["to_yaml"] = to_yaml
    return environment.get_template(TEMPLATE)


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def _source_errors(source: Path, errors: list[ConfigError]) -> ForkError:
    summary = error_summary(display_path(source), len(errors), "fix the source site first")
    return ForkError([*(str(e) for e in errors), summary])


def fork_site(source: Path, name: str, directory: Path) -> ForkedSite:
    """The text of ``<directory>/<name>.yaml`` forked from ``source``; raises ``ForkError``."""
    try:
        dns_label(name)
    except ValueError as exc:
        raise ForkError([f"new site name {name!r}: {exc}"]) from None
    target = directory / f"{name}.yaml"
    if target.exists():
        raise ForkError([f"{display_path(target)}: already exists; new-site never overwrites a site file"])
    config, errors = check_site(source)
    document, read_errors = read_yaml(source, display_path(source))
    layers, layer_errors = load_layers(source)
    if config is None or document is None or layers is None:
        raise _source_errors(source, errors or read_errors or layer_errors)

    own = copy.deepcopy(document.data)
    extends = own.pop(EXTENDS, None)
    blanks: list[str] = []
    for path, field in environment_paths(layers.data):
        if path == SITE_NAME:
            _put(own, layers.data, path, name)
        else:
            _put(own, layers.data, path, placeholder(field))
            blanks.append(dotted_path(path))
    order = list(SiteConfig.model_fields)
    sections = [{key: own[key]} for key in sorted(own, key=lambda k: order.index(k) if k in order else len(order))]
    text = _template().render(
        name=name,
        source=_relative(source, directory),
        extends=_relative(source.parent / extends, directory) if isinstance(extends, str) else None,
        sections=sections,
        placeholders=blanks,
    )
    return ForkedSite(target, text, tuple(blanks))
