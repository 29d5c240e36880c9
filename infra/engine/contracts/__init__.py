"""Contracts across objects: the operators' own rules, checked over the whole rendered state.

Each contract encodes one rule an operator enforces at run time (ib-kubernetes' partition keys,
Kueue's flavor assigner, the SR-IOV and RDMA device plugins, CSI provisioners, the DaemonSet
controller's taints, Kueue's topology levels, the EXAScaler chart's values), citing the upstream
file it comes from. They run on every ``plan`` and ``render`` over the project's objects and,
with ``--charts``, the charts' objects; a contract that needs chart objects says it was skipped
without them, and why. ``registry.CONTRACTS`` lists them in order.
"""
