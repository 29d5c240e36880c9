"""Constrained scalar types of the site model, each with a message that says how to fix it."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict, WithJsonSchema

from components.network.naming import PKEY_MASK
from infra.config.yamlvalues import HexInt, YamlFloat

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,127}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_K8S_VERSION = re.compile(r"^1\.(\d+)$")
_DRIVER = re.compile(r"^\d{3}\.\d{2,3}(\.\d{2})?$")
_CHART_VERSION = re.compile(r"^v?\d+\.\d+\.\d+([-.][0-9A-Za-z.-]+)?$")
_QUANTITY = re.compile(r"^\d+%$")


def dns_label(value: str) -> str:
    """``value`` if it is a DNS-1123 label (a Kubernetes name, a hostname); else ``ValueError``."""
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending "
            f"with a letter or digit, at most 63 characters (got {value!r})"
        )
    return value


def _country(value: Any) -> Any:
    if isinstance(value, str) and not _COUNTRY.match(value):
        raise ValueError(f"must be an ISO 3166-1 alpha-2 country code in capitals, e.g. DE (got {value!r})")
    return value


def _config_key(value: str) -> str:
    """A secret is named by its Pulumi config key; refuse anything that looks like the value."""
    if "\n" in value or " " in value or value.startswith("-----BEGIN") or not _CONFIG_KEY.match(value):
        # The text is not echoed back: it may be the secret itself.
        raise ValueError(
            "must name a Pulumi config secret (letters, digits, '_', '.', ':' or '-'), never hold "
            "the secret itself; set the value with `pulumi config set --secret <name>` (got a value that is "
            "not a name, not shown here)"
        )
    return value


def _version_text(value: Any) -> Any:
    """YAML reads ``1.30`` as a float; keep the digits the user wrote."""
    if isinstance(value, YamlFloat):
        return value.source
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _kubernetes_version(value: str) -> str:
    if not _K8S_VERSION.match(value):
        raise ValueError(f"must be a Kubernetes minor version such as '1.35' (got {value!r})")
    return value


def _driver_version(value: str) -> str:
    if not _DRIVER.match(value):
        raise ValueError(f"must be an NVIDIA driver version such as '595.91.07' (got {value!r})")
    return value


def _chart_version(value: str) -> str:
    if not _CHART_VERSION.match(value):
        raise ValueError(f"must be a release version such as 'v26.7.0' (got {value!r})")
    return value


# The partition the fabric gives every compute port but an isolated tenant's once the port GUIDs
# are known (infra/plan/fabric/partitions.py): no tenant may name it (SiteConfig.partition_keys_unique).
SHARED_PKEY = 0x7FFE


def _pkey(value: Any) -> Any:
    """Partition keys are written in hex: ``0x8001`` or ``"0x8001"``."""
    if isinstance(value, (bool, float)):
        raise ValueError(f"must be a partition key written in hex, e.g. 0x8001 (got {value!r})")
    if isinstance(value, HexInt):
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value, 16) if value.lower().startswith("0x") else -1
        except ValueError:
            number = -1
        if number < 0:
            raise ValueError(f"must be a partition key written in hex, e.g. 0x8001 (got {value!r})")
    elif isinstance(value, int):
        raise ValueError(
            f"must be written in hex (0x{value:04x} is the number {value}); a decimal number here is usually "
            f"a hex key with its 0x left off (got {value})"
        )
    else:
        return value
    low = number & PKEY_MASK
    if number > 0xFFFF or not 0x0001 <= low <= 0x7FFE:
        raise ValueError(
            f"must name a partition 0x0001-0x7FFE (0x7FFF is the default partition; the top bit "
            f"0x8000 only marks full membership) (got 0x{number:04x})"
        )
    return number


def _ipv4_network(value: Any) -> Any:
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if not isinstance(value, str):
        # pydantic would read an integer (or true) as a /32 address: refuse anything but text.
        raise ValueError(f"must be an IPv4 network in CIDR form such as 10.20.0.0/16 (got {value!r})")
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 network in CIDR form such as 10.20.0.0/16; {exc} (got {value!r})") from None


def _percent_or_count(value: Any) -> Any:
    if isinstance(value, str) and not _QUANTITY.match(value):
        raise ValueError(f"must be a node count or a percentage such as '25%' (got {value!r})")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"must be a node count or a percentage such as '25%' (got {value!r})")
    if isinstance(value, int) and value < 1:
        raise ValueError(f"must be at least 1 node (got {value})")
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or "//" in value or value != value.strip():
        raise ValueError(f"must be an absolute path such as /lustre/datasets (got {value!r})")
    return value


# Numbers and switches are strict: YAML's `true` is not the integer 1 and "96" is not 96, so a
# value of the wrong kind is reported instead of silently converted.
Integer = Annotated[int, Strict()]
Number = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]

DnsLabel = Annotated[str, AfterValidator(dns_label)]
CountryCode = Annotated[str, BeforeValidator(_country)]
SecretRef = Annotated[str, AfterValidator(_config_key)]
# In a site file a version may be written bare (`kubernetes_version: 1.35`), which YAML reads as a
# number; the model keeps the text, and the JSON Schema editors use accepts both spellings.
_VERSION_JSON = WithJsonSchema({"type": ["string", "number"]})
KubernetesVersion = Annotated[str, BeforeValidator(_version_text), AfterValidator(_kubernetes_version), _VERSION_JSON]
DriverVersion = Annotated[str, BeforeValidator(_version_text), AfterValidator(_driver_version), _VERSION_JSON]
ReleaseVersion = Annotated[str, BeforeValidator(_version_text), AfterValidator(_chart_version), _VERSION_JSON]
PKey = Annotated[int, BeforeValidator(_pkey)]
IPv4Subnet = Annotated[ipaddress.IPv4Network, BeforeValidator(_ipv4_network)]
NodesOrPercent = Annotated[Integer | str, BeforeValidator(_percent_or_count)]
AbsolutePath = Annotated[str, AfterValidator(_absolute_path)]
PositiveInt = Annotated[int, Strict(), Field(gt=0)]


def environment(description: str, **kwargs: Any) -> Any:
    """A field whose value belongs to one site: no default, and a placeholder when a site is forked."""
    return Field(description=description, json_schema_extra={"environment": True}, **kwargs)
