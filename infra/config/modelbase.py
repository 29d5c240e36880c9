"""``Model``: the base of every site-config model."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Base of every site-config model: immutable, unknown keys rejected."""

    # allow_inf_nan=False: `.inf`/`nan` are never a meaningful capacity, power or ratio.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # Keys that were renamed or removed, with what replaces them (named in the error).
    RENAMED: ClassVar[dict[str, str]] = {}
