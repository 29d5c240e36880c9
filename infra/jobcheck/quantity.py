"""Kubernetes resource quantities (``500m``, ``2048Gi``, ``1000T``) as exact numbers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# apimachinery's resource.Quantity suffixes (k8s.io/apimachinery pkg/api/resource/suffix.go).
_SUFFIXES = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")


def parse_quantity(value: object) -> Decimal | None:
    """The number a quantity stands for, or None when ``value`` is not a quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2) or ""]
    except InvalidOperation:
        return None


def format_quantity(value: Decimal, like: object = None) -> str:
    """``value`` written in the unit ``like`` uses (``2048Gi`` beside ``4096Gi``), else as a plain number."""
    match = _QUANTITY.match(str(like).strip()) if like is not None else None
    suffix = (match.group(2) or "") if match else ""
    scaled = value / _SUFFIXES[suffix]
    text = f"{scaled.normalize():f}" if scaled != scaled.to_integral_value() else str(int(scaled))
    return f"{text}{suffix}"
