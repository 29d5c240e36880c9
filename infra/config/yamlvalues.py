"""Scalar values that remember how they were written in YAML."""

from __future__ import annotations


class HexInt(int):
    """An integer written in hex (``0x8001``): partition keys must be written this way."""

    def __repr__(self) -> str:
        return f"0x{int(self):04x}"


class YamlFloat(float):
    """A float that keeps its source text, so ``kubernetes_version: 1.30`` means ``"1.30"``."""

    source: str

    def __new__(cls, source: str) -> YamlFloat:
        value = super().__new__(cls, float(source.replace("_", "")))
        value.source = source
        return value

    def __reduce__(self) -> tuple[type[YamlFloat], tuple[str]]:
        # copy and pickle rebuild it from its text, which the float value alone would lose.
        return (YamlFloat, (self.source,))
