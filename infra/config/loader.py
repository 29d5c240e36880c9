"""Load a site config: read YAML with positions, merge ``extends:`` layers, validate, collect errors.

``load_site`` returns a ``SiteConfig`` or raises ``SiteConfigError`` holding every error found,
each pointing at the file, line and column where the offending value (or key) was written,
in the site file or in the base it extends.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from infra.config.errors import ConfigError, Location, SiteConfigError, dotted_path, sorted_errors
from infra.config.model import SiteConfig
from infra.config.rules import collect_problems
from infra.config.schema import Model
from infra.config.yamldoc import YamlDocument, read_yaml
from infra.errors import ConfigPath, PlanningError, Problem
from infra.inputs import real_path

PLACEHOLDER = "<fill:"
EXTENDS = "extends"


@dataclass
class LayeredConfig:
    """The merged values of a site file and its bases, with where each value was written."""

    data: dict[str, Any]
    value_locations: dict[ConfigPath, Location]
    key_locations: dict[ConfigPath, Location]
    files: list[Path]

    def location(self, path: ConfigPath, *, key: bool = False) -> Location:
        """Where the value (or key) at ``path`` was written, or its nearest written parent."""
        if key and path in self.key_locations:
            return self.key_locations[path]
        for end in range(len(path), -1, -1):
            found = self.value_locations.get(path[:end])
            if found is not None:
                return found
        return Location(str(self.files[0]))

    def located(self, problems: Iterable[Problem]) -> list[ConfigError]:
        """``problems`` as errors at the line and column each one's value (or nearest parent) was written on."""
        return sorted_errors(
            ConfigError(self.location(p.path), dotted_path(p.path), p.message, p.hint) for p in problems
        )


def display_path(path: Path) -> str:
    """A path as the user should read it: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(real_path(path), Path.cwd())
    except (ValueError, OSError):
        return str(path)
    # The working directory itself, or a place outside it, reads best as the user wrote it.
    return str(path) if relative == "." or relative.startswith("..") else relative


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return override


def value_at(data: Any, path: ConfigPath) -> Any:
    """The value at config ``path`` in plain loaded ``data`` (``KeyError``/``IndexError`` if absent)."""
    for part in path:
        data = data[part]
    return data


def _merge_layers(base: LayeredConfig, layer: YamlDocument) -> LayeredConfig:
    """Lay ``layer`` over ``base``: mappings merge key by key, lists and scalars replace."""
    replaced = {p for p in layer.value_locations if p and not isinstance(value_at(layer.data, p), dict)}

    def survives(path: ConfigPath) -> bool:
        return not any(path[:end] in replaced for end in range(1, len(path) + 1))

    values = {p: loc for p, loc in base.value_locations.items() if survives(p)}
    values.update(layer.value_locations)
    keys = {p: loc for p, loc in base.key_locations.items() if survives(p[:-1]) or p in layer.key_locations}
    keys.update(layer.key_locations)
    return LayeredConfig(_merge(base.data, layer.data), values, keys, [layer.path, *base.files])


def load_layers(path: Path, chain: tuple[Path, ...] = ()) -> tuple[LayeredConfig | None, list[ConfigError]]:
    """Read ``path`` and, through ``extends:``, every base below it, merged top over bottom."""
    document, errors = read_yaml(path, display_path(path))
    if document is None:
        return None, errors
    extends = document.data.pop(EXTENDS, None)
    where = document.value_locations.pop((EXTENDS,), None)
    document.key_locations.pop((EXTENDS,), None)
    if extends is None or where is None:
        return _merge_layers(LayeredConfig({}, {}, {}, []), document), []
    if not isinstance(extends, str) or not extends or "\0" in extends:
        # A NUL cannot be in a file name (the OS refuses the path outright).
        return None, [ConfigError(where, EXTENDS, "must be the path of a base file", "e.g. extends: base/eu.yaml")]
    base_path = real_path(path.parent / extends)
    if base_path in chain or base_path == real_path(path):
        return None, [ConfigError(where, EXTENDS, f"{extends} extends this file again (a cycle)", "break the cycle")]
    if not base_path.is_file():
        return None, [ConfigError(where, EXTENDS, f"base file {extends} not found", "extends is relative to this file")]
    base, base_errors = load_layers(base_path, (*chain, real_path(path)))
    if base is None:
        return None, base_errors
    return _merge_layers(base, document), []


def _placeholders(data: Any, path: ConfigPath = ()) -> list[tuple[ConfigPath, str]]:
    if isinstance(data, str):
        return [(path, data)] if data.startswith(PLACEHOLDER) else []
    if isinstance(data, dict):
        return [found for key, value in data.items() for found in _placeholders(value, (*path, key))]
    if isinstance(data, list):
        return [found for i, value in enumerate(data) for found in _placeholders(value, (*path, i))]
    return []


def _model_at(path: ConfigPath) -> type[BaseModel] | None:
    """The model class that holds the mapping at ``path`` (for hints on its keys)."""
    model: type[BaseModel] = SiteConfig
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        inner = find_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def find_model(annotation: Any) -> type[BaseModel] | None:
    """The model class inside a field's annotation (``tuple[Tenant, ...]``, ``Release | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return find_model(typing.get_args(annotation)[0])
    if origin in (tuple, list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = find_model(arg)
            if found is not None:
                return found
    return None


def _data_path(data: Any, loc: tuple[Any, ...]) -> ConfigPath:
    """The part of a pydantic error location that names config keys (drops union member tags)."""
    path: list[str | int] = []
    for part in loc:
        indexes_dict = isinstance(data, dict) and isinstance(part, str) and part in data
        indexes_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if indexes_dict or indexes_list:
            data = data[part]
            path.append(part)
        elif isinstance(data, (dict, list)) and isinstance(part, (str, int)) and not path_is_tag(part):
            path.append(part)
            data = None
    return tuple(path)


def path_is_tag(part: str | int) -> bool:
    """Pydantic names union members and validators in error locations, e.g. ``function-after[...]``."""
    return isinstance(part, str) and ("[" in part or part in ("int", "str", "float", "bool", "none"))


def _describe(value: Any) -> str:
    """A value as it reads in YAML: ``true``, ``null``, ``'96'``, a mapping, a list."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value)


def _kind_of(value: Any) -> str:
    """What kind of value was given, without its content."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a text"
    return _describe(value) if isinstance(value, (dict, list)) or value is None else type(value).__name__


# Pydantic's wording for a wrong kind of value, in the words of a YAML file.
_KIND_MESSAGES = (
    (re.compile(r"^must be a valid dictionary( or instance of \w+)?"), "must be a mapping"),
    (re.compile(r"^must be a valid (tuple|list)"), "must be a list"),
    (re.compile(r"^(Tuple|List|Dictionary|String|Value) should (have|be)"), r"must \2"),
)


def _pydantic_errors(layers: LayeredConfig, error: ValidationError) -> list[ConfigError]:
    found: dict[ConfigPath, ConfigError] = {}
    for item in error.errors(include_url=False):
        path = _data_path(layers.data, tuple(item["loc"]))
        if path in found:
            continue
        kind = item["type"]
        field = dotted_path(path)
        if kind == "extra_forbidden":
            key = str(path[-1])
            model = _model_at(path[:-1])
            hint = None
            if model is not None:
                renamed = model.RENAMED.get(key) if issubclass(model, Model) else None
                close = difflib.get_close_matches(key, list(model.model_fields), n=1)
                if renamed:
                    hint = f"{key} was renamed: use {renamed}"
                elif close:
                    hint = f"did you mean {close[0]}?"
                else:
                    hint = f"known keys: {', '.join(model.model_fields)}"
            found[path] = ConfigError(layers.location(path, key=True), field, "unknown key", hint)
            continue
        if kind == "missing":
            model = _model_at(path[:-1])
            described = model.model_fields.get(str(path[-1])) if model else None
            hint = f"add {path[-1]}: {described.description}" if described and described.description else None
            found[path] = ConfigError(layers.location(path[:-1]), field, "is required", hint)
            continue
        message = item["msg"].removeprefix("Value error, ")
        message = message.replace("Input should be", "must be").replace("Input should have", "must have")
        for pattern, wording in _KIND_MESSAGES:
            message = pattern.sub(wording, message)
        hint = None
        if kind in ("enum", "literal_error"):
            expected = item.get("ctx", {}).get("expected", "")
            choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",") if c.strip(" '")]
            given = str(item["input"])
            # "H100" is short for H100-SXM-80GB: a choice the value starts is the likeliest meaning.
            close = [c for c in choices if given and c.lower().startswith(given.lower())][:1]
            close = close or difflib.get_close_matches(given, choices, n=1)
            hint = f"did you mean {close[0]}?" if close else f"allowed values: {', '.join(choices)}"
            message = f"{_describe(item['input'])} is not allowed"
        elif str(path[-1] if path else "").endswith("secret") and "not shown here" not in message:
            # Where a secret reference belongs, the value given may be the secret itself.
            message = re.sub(r" \(got .*\)$", "", message) + f" (got {_kind_of(item['input'])}, not shown here)"
        elif "(got " not in message:
            message = f"{message} (got {_describe(item['input'])})"
        found[path] = ConfigError(layers.location(path), field, message, hint)
    # An error inside an item also fails its container; report only the most precise one.
    return [e for p, e in found.items() if not any(q[: len(p)] == p and q != p for q in found)]


# Credentials written into a URL: `scheme://user:password@host` or a query parameter that carries a
# key or token. They would reach the plan, the Helm values and the StorageClass in clear text.
_URL_CREDENTIALS = re.compile(
    r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s]*:[^/?#@\s]*@"
    r"|[?&](password|passwd|pwd|token|secret|access_?key|secret_?key|api_?key)=[^&]",
    re.IGNORECASE,
)


def _secret_field_near(path: ConfigPath) -> str:
    """The secret reference a value at ``path`` should use instead: a ``*_secret`` field beside it."""
    model = _model_at(path[:-1])
    fields = [name for name in (model.model_fields if model else {}) if name.endswith("secret")]
    if fields:
        return f"put them in a Pulumi config secret and name it in {dotted_path((*path[:-1], fields[0]))}"
    return "put them in a Pulumi config secret; a site file names secrets, never holds them"


def _strings(data: Any, path: ConfigPath = ()) -> Iterator[tuple[ConfigPath, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, (*path, i))


def _credential_errors(layers: LayeredConfig) -> list[ConfigError]:
    """Values that carry credentials inside a URL; the value itself is never repeated."""
    return [
        ConfigError(
            layers.location(path),
            dotted_path(path),
            "holds credentials inside a URL (not shown here)",
            _secret_field_near(path),
        )
        for path, text in _strings(layers.data)
        if _URL_CREDENTIALS.search(text)
    ]


@dataclass(frozen=True)
class SiteFile:
    """A valid site file as loaded: its config, and where each of its values was written."""

    path: Path
    config: SiteConfig
    layers: LayeredConfig

    def planning_errors(self, error: PlanningError) -> list[ConfigError]:
        """Why the site cannot be planned, one error per problem, each at the config line it names.

        The planners do no I/O: their problems name config paths, and only here, with the document
        the loader read, are they placed at the line and column the value was written on (in
        whichever layer of ``extends:`` wrote it). An error without problems names its fields in its
        message and is reported against the file.
        """
        if not error.problems:
            return [ConfigError(Location(display_path(self.path)), "", str(error))]
        return self.layers.located(error.problems)


def read_site(path: str | Path) -> tuple[SiteFile | None, list[ConfigError]]:
    """Load and validate one site file: the loaded site, or every error found in it."""
    layers, errors = load_layers(Path(path))
    if layers is None:
        return None, errors
    credentials = _credential_errors(layers)
    if credentials:
        return None, sorted_errors(credentials)
    placeholders = _placeholders(layers.data)
    if placeholders:
        return None, [
            ConfigError(
                layers.location(p),
                dotted_path(p),
                f"still a placeholder: {text}",
                "write this site's own value here",
            )
            for p, text in placeholders
        ]
    try:
        config = SiteConfig.model_validate(layers.data)
    except ValidationError as exc:
        return None, sorted_errors(_pydantic_errors(layers, exc))
    problems = collect_problems(config)
    if problems:
        return None, layers.located(problems)
    return SiteFile(Path(path), config, layers), []


def check_site(path: str | Path) -> tuple[SiteConfig | None, list[ConfigError]]:
    """Load and validate one site file: the model, or every error found in it."""
    site, errors = read_site(path)
    return (site.config if site is not None else None), errors


def load_site_file(path: str | Path) -> SiteFile:
    """The valid site file at ``path``; raises ``SiteConfigError`` listing every problem."""
    site, errors = read_site(path)
    if site is None:
        raise SiteConfigError(errors)
    return site


def load_site(path: str | Path) -> SiteConfig:
    """The validated site config at ``path``; raises ``SiteConfigError`` listing every problem."""
    return load_site_file(path).config
