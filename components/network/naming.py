"""Names of the compute fabric's objects that the components and the planners both write.

Pure functions with no imports: ``infra/`` (partitions.conf, node acceptance, addressing) and the
components (tenant networks, the fabric's IP pools) agree on a partition key's or a rail's name
by calling the same function.
"""


def format_pkey(pkey: int) -> str:
    """A partition key as OpenSM and the Network Operator write it: ``0x8001``."""
    return f"0x{pkey:04x}"


def ippool_name(rail: int) -> str:
    """The NV-IPAM IPPool (and IPoIB network) name of a rail."""
    return f"rail{rail}"
