"""Writes test data as YAML the project's loader reads back as the same values (YAML 1.2)."""

from __future__ import annotations

from typing import Any

import yaml

from infra.config.yamldoc import resolve_plain_scalar
from infra.config.yamlvalues import HexInt, YamlFloat

FLOW_WIDTH = 80


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
