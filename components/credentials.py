"""Credentials from Pulumi config secrets: read as secret Outputs, never as clear values.

A credential is a structured Pulumi config secret, an object of string fields, set with
``pulumi config set --secret --path '<name>.<field>' <value>`` (or one JSON object with
``pulumi config set --secret <name> '{...}'``). Its fields only ever travel inside an Output
marked secret; error messages name the config key and the fields, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

import pulumi


class CredentialsError(pulumi.RunError):
    """A credential secret is not an object with the fields its consumer needs."""


def credential_problem(text: str, required: Sequence[str]) -> str | None:
    """Why ``text`` is not a credential object with the ``required`` fields, or None when it is."""
    try:
        data = json.loads(text)
    except ValueError:
        return "is not a JSON object"
    if not isinstance(data, dict):
        return "is not an object of fields"
    missing = [field for field in required if not isinstance(data.get(field), str) or not data[field]]
    if missing:
        return f"lacks the field{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
    return None


def parse_credential(
    config_key: str, text: str, required: Sequence[str], optional: Mapping[str, str]
) -> dict[str, str]:
    """The ``required`` and ``optional`` fields of the credential ``text`` stored under ``config_key``.

    A malformed credential fails ``pulumi up`` with a message naming the key and the fields. A
    preview only warns and continues with empty fields, so a site can be previewed (and planned by
    the embedded engine) before its credentials exist.
    """
    problem = credential_problem(text, required)
    if problem is not None:
        fields = ", ".join([*required, *(f"{name} (optional)" for name in optional)])
        message = (
            f"Pulumi config secret {config_key!r} {problem}; it must hold the fields {fields}: "
            f"set each with `pulumi config set --secret --path '{config_key}.<field>' <value>`"
        )
        if pulumi.runtime.is_dry_run():
            pulumi.log.warn(f"{message} (preview continues with empty fields)")
            return {field: "" for field in [*required, *optional]}
        raise CredentialsError(message)
    data = json.loads(text)
    return {**{f: data[f] for f in required}, **{f: str(data.get(f, default)) for f, default in optional.items()}}


def credential(
    config_key: str, required: Sequence[str], optional: Mapping[str, str] | None = None
) -> pulumi.Output[dict[str, str]]:
    """The fields of the credential under Pulumi config key ``config_key``, as a secret Output."""
    raw = pulumi.Config().require_secret(config_key)
    extra = dict(optional or {})
    return pulumi.Output.secret(raw.apply(lambda text: parse_credential(config_key, text, required, extra)))


def string_data(
    fields: pulumi.Output[dict[str, str]], keys: Mapping[str, str], plain: Mapping[str, str] | None = None
) -> dict[str, pulumi.Input[str]]:
    """A Secret's ``stringData``: each key's value a secret Output of one credential field.

    ``keys`` maps Secret keys to credential fields; ``plain`` adds keys whose values are not
    secret (an endpoint). Keys stay visible in plans and previews, values never do.
    """
    data: dict[str, pulumi.Input[str]] = {key: value for key, value in sorted((plain or {}).items())}
    for key, name in sorted(keys.items()):
        data[key] = pulumi.Output.secret(fields.apply(_field(name)))
    return data


def _field(name: str) -> Callable[[dict[str, str]], str]:
    def pick(fields: dict[str, str]) -> str:
        return fields[name]

    return pick
