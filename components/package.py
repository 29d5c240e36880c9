"""The components as one Pulumi component package: which are hosted, under what name, and their schema.

``components/__main__.py`` hosts ``COMPONENTS`` with ``component_provider_host``; Pulumi infers the
package schema from their Args (``TypedDict``) and output annotations with the analyzer of
``pulumi.provider.experimental``. ``schema()`` runs that same analyzer here, without the Pulumi CLI.
"""

from typing import Any

from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.schema import generate_schema

from components.compute.gpu_node_pool import GpuNodePool
from components.isolation.admission import TenantAdmission
from components.kube import PACKAGE
from components.network.infiniband_fabric import InfiniBandFabric
from components.operators.cluster_operators import ClusterOperators
from components.scheduling.scheduling import Scheduling
from components.storage.storage_system import StorageSystem
from components.tenancy.tenant import Tenant

# The package version: the project's (pyproject.toml; a test keeps them equal).
VERSION = "0.1.0"

COMPONENTS = (
    ClusterOperators,
    GpuNodePool,
    InfiniBandFabric,
    Scheduling,
    StorageSystem,
    Tenant,
    TenantAdmission,
)
"""Every component the package offers (a test checks that no ``ComponentResource`` in ``components/`` is missing)."""


def schema() -> dict[str, Any]:
    """The package schema Pulumi's Python component provider infers for ``COMPONENTS``."""
    result = Analyzer(PACKAGE).analyze(list(COMPONENTS))
    inferred = generate_schema(
        PACKAGE,
        VERSION,
        None,
        result["component_definitions"],
        result["type_definitions"],
        sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}"),
    )
    document: dict[str, Any] = inferred.to_json()
    return document
