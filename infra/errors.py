"""Every error gigafactory raises for its user, and the one shape of a problem found in a site, in one place.

A **problem** (``Problem``) is one reason a site config cannot be used or built: the site-config
path it is about (``("node_pools", 0, "nodes")``), what is wrong and the fix. The config rules and
the planners both yield problems; only ``infra/config`` knows the files, so it alone turns a problem
into a ``ConfigError`` at ``file:line:col`` (``infra.config.errors``).

The **errors** form one tree under ``GigafactoryError``; its branches follow the exit-code contract
(``infra.commands.exit_codes``), which the command that catches an error applies:

```
GigafactoryError                      an error gigafactory raises on purpose; str() is the message
├── BadInputError                     exit 2 (exit_codes.BAD_INPUT): an input is not what the command
│   │                                 reads (not a plan, not YAML, unreadable, beyond the reading
│   │                                 bounds), or an output it must not write
│   ├── InputError                    infra.inputs: a bounded read refused, located
│   ├── PlanFileError                 infra.engine.recording: not a gigafactory plan
│   ├── FactsError                    infra.engine.factjson: a plan's facts of the wrong types
│   ├── UrnMapError                   infra.engine.migration: not a URN map, or plans that cannot map
│   ├── GuidMapError                  infra.plan.fabric.partitions: not a GUID map
│   ├── DiscoveryError                infra.plan.fabric.discovery: not ibnetdiscover output
│   ├── AcceptanceFileError           infra.report.build: not a `verify --format json` result
│   ├── InventoryError                infra.acceptance.inventory: an unusable inventory
│   ├── ChartFolderError              infra.engine.charts.source: no chart folder, or a chart missing
│   ├── HistoryError                  infra.commands.history: a ref or site git cannot resolve
│   ├── GitOpsError                   infra.engine.gitops: the site cannot be written for that tool
│   ├── InputProblem                  infra.commands.fabric_verify: a discovery or GUID map unusable
│   └── OutputRefused                 infra.atomic_write: an output folder holds what gigafactory did not write
├── SiteConfigError                   exit 1 (2 if unreadable): the site config has errors, every
│                                     one collected as a located ConfigError (infra.config.errors)
├── ForkError                         infra.config.fork: a new site cannot be forked (exit 1 when the
│                                     source site has errors, else 2)
├── PlanningError                     exit 1: a valid site config that cannot be planned; carries
│   │                                 its problems (config paths), located by infra.config
│   ├── FabricPlanError               infra.plan.fabric.errors
│   ├── AddressingError               infra.plan.addressing
│   └── FabricTooLarge                infra.plan.fabric.shape (becomes a FabricPlanError)
├── ChartRenderErrors                 exit 1: every chart that refused its values, located at the
│                                     config lines behind them (infra.engine.charts.render)
├── ChartTemplateError                one chart that refused its values (infra.engine.charts.render)
├── ReadError                         infra.acceptance.reader: what a node check reads is not there
│                                     (the check fails; the node's verdict, not the command's)
└── DuplicateResourceError            infra.engine.runtime: two resources with one URN (a defect of
                                      the composition; the real engine refuses it too)
```

Subclasses keep the built-in base they had (``ValueError``, ``RuntimeError``) beside their branch,
so code that caught the built-in still does. A ``BadInputError`` that escapes a command still keeps
the contract (``infra.cli`` prints its message, exit 2); anything else that escapes is a defect,
reported as an internal error (exit 70, no traceback).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ConfigPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One reason a site cannot be used or built: the site-config path it is about, what is wrong, the fix."""

    path: ConfigPath
    message: str
    hint: str | None = None


class GigafactoryError(Exception):
    """Base of every error gigafactory raises for its user to read; ``str()`` is the message."""


class BadInputError(GigafactoryError):
    """An input is not what the command reads, or an output it must not write (exit status 2)."""


class PlanningError(GigafactoryError):
    """A valid site config that still cannot be planned (exit status 1).

    ``problems`` name the config fields to change; with none, the message names them and is
    reported against the site file.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems = list(problems)
        super().__init__(message)
