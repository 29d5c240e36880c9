"""The one exit-code contract every ``gigafactory`` command follows.

A script or a CI job reads a command's verdict from its exit status alone: the same number means
the same thing whatever the command. ``CONTRACT`` is the table the README shows (a test keeps the
two equal) and the test over every registered command asserts.
"""

from __future__ import annotations

from collections.abc import Iterable

OK = 0
"""Success, or a positive verdict (every node passed, the site is valid, no dangerous change)."""

REJECTED = 1
"""A negative verdict on valid input: an invalid site config, failed or unreachable nodes, a job that
would not run, a fabric that does not match its plan."""

BAD_INPUT = 2
"""A malformed command line, an input that is not what the command reads (not a plan, not a job, not
YAML, unreadable, beyond the reading bounds), or an output it must not or cannot write."""

DANGER = 3
"""Dangerous changes found by ``diff --fail-on-danger``."""

# Outside the contract: the process was stopped (128 + the signal, as shells report it).
INTERRUPTED = 130
TERMINATED = 143

CONTRACT: tuple[tuple[int, str], ...] = (
    (OK, "success, or a positive verdict (the site is valid, every node passed, no dangerous change)"),
    (
        REJECTED,
        "a negative verdict on valid input: an invalid site config, a site that cannot be planned, failed or "
        "unreachable nodes, a job that would not run, a fabric that does not match its plan",
    ),
    (
        BAD_INPUT,
        "a malformed command line, or an input that is not what the command reads (not a plan, not a job, "
        "not YAML, unreadable, beyond the reading bounds), or an output it must not or cannot write",
    ),
    (DANGER, "dangerous changes found by `diff --fail-on-danger`"),
)


def worst(codes: Iterable[int]) -> int:
    """The status of several outcomes: bad input outranks a negative verdict, which outranks success."""
    ranked = {OK: 0, REJECTED: 1, DANGER: 2, BAD_INPUT: 3}
    return max(codes, key=lambda code: ranked.get(code, 4), default=OK)
