"""Names of the compute fabric's objects that the components and the planners both write.

Pure functions with no imports: ``infra/`` (partitions.conf, node acceptance, addressing) and the
components (tenant networks, the fabric's IP pools) agree on a partition key's or a rail's name
by calling the same function.
"""

# The device-plugin resource a network definition's pods must request (Multus / network-resources-injector).
NAD_RESOURCE_ANNOTATION = "k8s.v1.cni.cncf.io/resourceName"

# A partition key's low 15 bits name the partition; the top bit (0x8000) is the membership (full or
# limited), part of partitions.conf's notation and of a port's P_Key table, not of the partition.
# ib-kubernetes accepts a network's pkey only when it fits 15 bits: IsPKeyValid is
# `pkey == (pkey & 0x7fff)` (Mellanox/ib-kubernetes pkg/ib-utils/utils.go).
PKEY_MASK = 0x7FFF


def format_pkey(pkey: int) -> str:
    """A partition key as OpenSM and the Network Operator write it: ``0x8001``."""
    return f"0x{pkey:04x}"


def network_pkey(pkey: int) -> str:
    """A partition key as a network definition names it: the 15-bit key, ``0x8101`` -> ``0x0101``."""
    return format_pkey(pkey & PKEY_MASK)


def ippool_name(rail: int) -> str:
    """The NV-IPAM IPPool (and IPoIB network) name of a rail."""
    return f"rail{rail}"
