"""Read one YAML file into plain values plus the file, line and column of every key and value.

Scalars resolve as YAML 1.2 does, not PyYAML's YAML 1.1: ``NO``/``yes``/``on`` stay strings
(Norway is ``NO``), ``0x8001`` is a hex integer, ``1.30`` keeps its text. Duplicate keys, merge
keys, multi-document files, aliases that contain themselves and documents nested or expanded
beyond any real site's size are errors, each reported with its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from infra.config.errors import ConfigError, Location, dotted_path
from infra.config.yamlvalues import HexInt, YamlFloat
from infra.inputs import MAX_DIGITS, InputError, line_and_column, read_text_bounded

ConfigPath = tuple[str | int, ...]

_STR_TAG = "tag:yaml.org,2002:str"
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")

# A real site nests about 6 levels and holds a few thousand values; the limits stop a hostile or
# broken file (a recursive alias, "billion laughs" alias fan-out) from exhausting the machine.
MAX_DEPTH = 32
MAX_VALUES = 100_000
# Nodes composed (keys and values, an alias counting once): checked while the parser reads, so a
# list of millions of items stops at the bound instead of after it was built.
MAX_NODES = MAX_VALUES
# The bundled 100,000-GPU site is 9 KB; reading stops at this size (``/dev/zero`` included).
MAX_BYTES = 512 << 10


@dataclass
class YamlDocument:
    """One file's values with the location of each value and each key, by config path."""

    path: Path
    data: dict[str, Any]
    value_locations: dict[ConfigPath, Location] = field(default_factory=dict)
    key_locations: dict[ConfigPath, Location] = field(default_factory=dict)


def resolve_plain_scalar(text: str) -> Any:
    """The value of an unquoted scalar under YAML 1.2's core schema (hex kept as HexInt)."""
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _HEX.match(text):
        return HexInt(int(text, 16))
    if _OCT.match(text):
        return int(text[2:], 8)
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return YamlFloat(text)
    return text


_EXPLICIT_TAG = "gigafactory_explicit_tag"


class _Bound(yaml.MarkedYAMLError):
    """A reading bound crossed while composing; reported like a syntax error, at its position."""


class _Loader(yaml.SafeLoader):
    """SafeLoader's composer, marking scalars whose tag was written (``!!str 1.30``) and bounded while
    it composes: nodes and depth are counted as the parser produces them."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.composed = 0
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.composed += 1
        self.depth += 1
        try:
            if self.composed > MAX_NODES or self.depth > MAX_DEPTH + 1:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                too = (
                    f"holds more than {MAX_VALUES:,} values"
                    if self.composed > MAX_NODES
                    else f"nests deeper than {MAX_DEPTH} levels"
                )
                raise _Bound(problem=too, problem_mark=mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def compose_scalar_node(self, anchor: Any) -> yaml.ScalarNode:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        node = super().compose_scalar_node(anchor)
        if getattr(event, "tag", None) not in (None, "!"):
            setattr(node, _EXPLICIT_TAG, True)
        return node


class _Builder:
    def __init__(self, path: Path, display: str) -> None:
        self.path = path
        self.display = display
        self.value_locations: dict[ConfigPath, Location] = {}
        self.key_locations: dict[ConfigPath, Location] = {}
        self.errors: list[ConfigError] = []
        self.values = 0
        self.open_nodes: set[int] = set()

    def location(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.display, mark.line + 1, mark.column + 1)

    def build(self, node: yaml.Node, path: ConfigPath) -> Any:
        self.value_locations[path] = self.location(node)
        self.values += 1
        if self.values > MAX_VALUES:
            if self.values == MAX_VALUES + 1:
                self.errors.append(
                    ConfigError(
                        self.location(node),
                        dotted_path(path),
                        f"the document expands to more than {MAX_VALUES:,} values",
                        "write the values out instead of multiplying them through YAML aliases",
                    )
                )
            return None
        if len(path) > MAX_DEPTH:
            self.errors.append(
                ConfigError(self.location(node), dotted_path(path[:MAX_DEPTH]), f"nests deeper than {MAX_DEPTH} levels")
            )
            return None
        if id(node) in self.open_nodes:
            self.errors.append(
                ConfigError(
                    self.location(node),
                    dotted_path(path),
                    "a YAML alias here refers to a collection that contains it",
                    "an alias may only repeat a value defined outside itself",
                )
            )
            return None
        if isinstance(node, yaml.ScalarNode):
            if _INT.match(node.value) and len(node.value.lstrip("+-")) > MAX_DIGITS and node.style is None:
                self.errors.append(
                    ConfigError(
                        self.location(node),
                        dotted_path(path),
                        f"a number of {len(node.value.lstrip('+-')):,} digits; no field takes a number this large",
                    )
                )
                return None
            # PyYAML has already tagged every scalar under YAML 1.1; that tag is ignored. An explicit
            # !!str keeps the text, other explicit tags (!!int "5") and plain scalars resolve under
            # YAML 1.2, and quoted scalars stay strings.
            if getattr(node, _EXPLICIT_TAG, False):
                return node.value if node.tag == _STR_TAG else resolve_plain_scalar(node.value)
            return resolve_plain_scalar(node.value) if node.style is None else node.value
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self.build_mapping(node, path)
        finally:
            self.open_nodes.discard(id(node))

    def build_mapping(self, node: yaml.MappingNode, path: ConfigPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            key_location = self.location(key_node)
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.append(ConfigError(key_location, dotted_path(path), "mapping keys must be plain names"))
                continue
            key = key_node.value
            if key == "<<":
                self.errors.append(
                    ConfigError(
                        key_location,
                        dotted_path(path),
                        "YAML merge keys (<<) are not supported",
                        "put shared values in a base file and use `extends:`",
                    )
                )
                continue
            if key in seen:
                first = seen[key]
                self.errors.append(
                    ConfigError(
                        key_location,
                        dotted_path((*path, key)),
                        f"duplicate key (first set at line {first.line})",
                        "remove one of the two; YAML would silently keep only the last",
                    )
                )
                continue
            seen[key] = key_location
            key_path = (*path, key)
            self.key_locations[key_path] = key_location
            result[key] = self.build(value_node, key_path)
        return result


def _code(character: str | int) -> str:
    code = ord(character) if isinstance(character, str) else character
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _compose(path: Path, display: str, kind: str) -> tuple[list[yaml.Node] | None, list[ConfigError]]:
    """The file's non-empty YAML documents as nodes, or None and the error that stops them being read."""
    try:
        text = read_text_bounded(path, MAX_BYTES, f"a {kind}", display)
    except InputError as exc:
        where = Location(display, exc.line, exc.column)
        return None, [ConfigError(where, "", exc.message, exc.hint, unreadable=True)]
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except RecursionError:
        return None, [ConfigError(Location(display), "", f"nests deeper than {MAX_DEPTH} levels", unreadable=True)]
    except _Bound as exc:
        mark = exc.problem_mark
        return None, [
            ConfigError(
                Location(display, mark.line + 1, mark.column + 1) if mark else Location(display),
                "",
                str(exc.problem),
                f"a {kind} nests a few levels and holds a few thousand values",
                unreadable=True,
            )
        ]
    except yaml.reader.ReaderError as exc:
        # PyYAML says "position N in <unicode string>"; a person needs the line and column.
        line, column = line_and_column(text, exc.position)
        return None, [
            ConfigError(
                Location(display, line, column),
                "",
                f"control character {_code(exc.character)} is not allowed in YAML",
                "delete it, or write it as an escape inside a double-quoted string (\\t, \\u001b)",
                unreadable=True,
            )
        ]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Location(display, mark.line + 1, mark.column + 1) if mark else Location(display)
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [
            ConfigError(
                where, "", f"not valid YAML: {problem}", "fix the YAML syntax at that position", unreadable=True
            )
        ]
    # A document with nothing in it (a lone `---`) composes to an empty plain scalar.
    return [n for n in nodes if not (isinstance(n, yaml.ScalarNode) and n.value == "" and n.style is None)], []


def _document(path: Path, display: str, root: yaml.Node, what: str) -> tuple[YamlDocument | None, list[ConfigError]]:
    builder = _Builder(path, display)
    if not isinstance(root, yaml.MappingNode):
        return None, [ConfigError(builder.location(root), "", f"must be a YAML mapping of {what}", unreadable=True)]
    data = builder.build(root, ())
    if builder.errors:
        return None, builder.errors
    return YamlDocument(path, data, builder.value_locations, builder.key_locations), []


def read_yaml(path: Path, display: str) -> tuple[YamlDocument | None, list[ConfigError]]:
    """Parse ``path``; return the document, or None and the errors that stop it being read."""
    nodes, errors = _compose(path, display, "site config file")
    if nodes is None:
        return None, errors
    if not nodes:
        return None, [
            ConfigError(
                Location(display, 1, 1), "", "file is empty", "a site config is a YAML mapping", unreadable=True
            )
        ]
    if len(nodes) > 1:
        where = Location(display, nodes[1].start_mark.line + 1, 1)
        return None, [
            ConfigError(where, "", "holds more than one YAML document", "keep one site per file", unreadable=True)
        ]
    return _document(path, display, nodes[0], "site settings")


def read_yaml_documents(path: Path, display: str, what: str) -> tuple[list[YamlDocument], list[ConfigError]]:
    """Every document of a multi-document file (``---`` between them), each a mapping of ``what``.

    Positions are the file's own, so a value of the third document is located at its line in the
    file. Any error stops the whole file being read (no partial list).
    """
    nodes, errors = _compose(path, display, "YAML file")
    if nodes is None:
        return [], errors
    if not nodes:
        empty = ConfigError(Location(display, 1, 1), "", "file is empty", f"write {what} as a YAML mapping")
        return [], [replace(empty, unreadable=True)]
    documents: list[YamlDocument] = []
    for node in nodes:
        document, problems = _document(path, display, node, what)
        errors.extend(problems)
        if document is not None:
            documents.append(document)
    return ([], errors) if errors else (documents, [])
