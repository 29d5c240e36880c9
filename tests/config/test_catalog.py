"""The hardware catalog: every GPU model has one complete, self-consistent GpuSystem record."""

from __future__ import annotations

import dataclasses
import re
import typing

import pytest

from infra.config.catalog import (
    GPU_SYSTEMS,
    MIN_GPU_OPERATOR_FOR_BLACKWELL,
    Architecture,
    GpuModel,
    GpuSystem,
    version_tuple,
)

SYSTEMS = [pytest.param(GPU_SYSTEMS[model], id=model.value) for model in GpuModel if model in GPU_SYSTEMS]


def test_every_model_has_a_system() -> None:
    assert set(GPU_SYSTEMS) == set(GpuModel), "every GpuModel needs one GpuSystem in GPU_SYSTEMS"
    for model, system in GPU_SYSTEMS.items():
        assert system.model is model, f"GPU_SYSTEMS[{model.value}] describes {system.model.value}"


def test_construction_is_by_keyword_with_every_field_given() -> None:
    # No field has a default, so a new model cannot leave a fact out; positional construction fails.
    for field in dataclasses.fields(GpuSystem):
        assert field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING, field.name
    with pytest.raises(TypeError):
        GpuSystem(*dataclasses.astuple(GPU_SYSTEMS[GpuModel.B200]))  # type: ignore[misc]


@pytest.mark.parametrize("system", SYSTEMS)
def test_every_field_is_set_with_its_type(system: GpuSystem) -> None:
    hints = typing.get_type_hints(GpuSystem)
    for field in dataclasses.fields(GpuSystem):
        value = getattr(system, field.name)
        if field.name == "rack_nodes" and value is None:
            continue  # None is a fact here: racks are the site's choice
        origin = typing.get_origin(hints[field.name])
        expected = tuple if origin is tuple else (int if hints[field.name] == (int | None) else hints[field.name])
        assert isinstance(value, expected), f"{system.model.value}.{field.name} = {value!r}"
        assert value not in ("", ()), f"{system.model.value}.{field.name} is empty"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert value > 0, f"{system.model.value}.{field.name} = {value!r}"


@pytest.mark.parametrize("system", SYSTEMS)
def test_compute_hcas_are_one_per_gpu_with_distinct_rdma_names(system: GpuSystem) -> None:
    # A rail-optimized node has one compute HCA per GPU (the config rule on hcas.compute).
    assert system.compute_hcas == system.gpus_per_node
    assert len(set(system.compute_hca_devices)) == system.compute_hcas
    assert all(re.fullmatch(r"mlx5_\d+", device) for device in system.compute_hca_devices)
    assert system.rail_devices(system.compute_hcas) == system.compute_hca_devices
    assert system.rail_devices(2) == ("mlx5_0", "mlx5_1"), "another count falls back to probe order"


@pytest.mark.parametrize("system", SYSTEMS)
def test_mig_profiles_end_with_the_whole_gpu(system: GpuSystem) -> None:
    assert all(re.fullmatch(r"[1-7]g\.\d+gb", profile) for profile in system.mig_profiles)
    assert system.mig_profiles[-1].startswith("7g."), "the last profile is the whole GPU"
    assert len(set(system.mig_profiles)) == len(system.mig_profiles)


@pytest.mark.parametrize("system", SYSTEMS)
def test_driver_and_nvlink_facts_agree_with_the_architecture(system: GpuSystem) -> None:
    assert len(version_tuple(system.min_driver)) == 3, system.min_driver
    if system.architecture is Architecture.BLACKWELL:
        # REFERENCE.md "Driver branches": Blackwell under the GPU Operator needs >= 570.133.20.
        assert version_tuple(system.min_driver) >= (570, 133, 20)
        assert version_tuple(MIN_GPU_OPERATOR_FOR_BLACKWELL) == (25, 3, 0)
    # GB200 needs the open kernel modules and runs IMEX across the rack; NVSwitch systems run the
    # fabric manager, whose process is nv-fabricmanager.
    is_rack = system.rack_nodes is not None
    assert system.needs_open_kernel_modules is is_rack
    assert (system.nvlink_service, system.nvlink_daemon) == (
        ("nvidia-imex", "nvidia-imex") if is_rack else ("nvidia-fabricmanager", "nv-fabricmanager")
    )


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_rack_product_fits_a_rack(system: GpuSystem) -> None:
    if system.rack_nodes is not None:
        assert system.rack_nodes * system.rack_units <= 48
        assert system.rack_nodes * system.gpus_per_node == 72, "an NVL72 rack holds 72 GPUs"


def test_reference_numbers() -> None:
    # REFERENCE.md "Power": DGX H100/H200 10.2 kW, DGX B200 14.3 kW, GB200 NVL72 ~120 kW a rack.
    assert GPU_SYSTEMS[GpuModel.H100_SXM_80GB].node_kw == GPU_SYSTEMS[GpuModel.H200_SXM_141GB].node_kw == 10.2
    assert GPU_SYSTEMS[GpuModel.B200].node_kw == 14.3
    gb200 = GPU_SYSTEMS[GpuModel.GB200_NVL72]
    assert gb200.rack_nodes is not None
    assert round(gb200.node_kw * gb200.rack_nodes) == 120
    # REFERENCE.md "GPU Operator values that matter": the MIG profiles named there are offered.
    for model, named in {
        GpuModel.H100_SXM_80GB: ("1g.10gb", "3g.40gb", "7g.80gb"),
        GpuModel.H200_SXM_141GB: ("1g.18gb", "3g.71gb", "7g.141gb"),
        GpuModel.B200: ("1g.23gb",),
        GpuModel.GB200_NVL72: ("1g.23gb",),
    }.items():
        assert set(named) <= set(GPU_SYSTEMS[model].mig_profiles), model.value
