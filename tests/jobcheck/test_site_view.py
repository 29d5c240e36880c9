"""Reading what the plan's objects hold: network definitions' CNI configurations, Kueue's Configuration."""

from __future__ import annotations

import json

import pytest

from infra.jobcheck.site import cni_plugins, kueue_manager_config

IB = {"type": "ib-sriov", "pkey": "0x8102"}


@pytest.mark.parametrize(
    ("config", "plugins"),
    [
        (json.dumps(IB), [IB]),
        (json.dumps({"cniVersion": "1.0.0", "plugins": [IB, {"type": "tuning"}, "x"]}), [IB, {"type": "tuning"}]),
        # `plugins` that is not a list: the configuration is one plugin (the contracts raised TypeError).
        (json.dumps({**IB, "plugins": None}), [{**IB, "plugins": None}]),
        (json.dumps([IB]), []),  # not an object (check-job raised AttributeError)
        ("{not json", []),
        (None, []),
    ],
)
def test_cni_plugins_of_a_single_plugin_or_a_plugin_list(config: object, plugins: list[object]) -> None:
    assert cni_plugins(config) == plugins


def test_kueue_configuration_is_the_yaml_text_the_chart_writes_to_its_config_map() -> None:
    text = "apiVersion: config.kueue.x-k8s.io/v1beta2\nmanageJobsWithoutQueueName: true\n"
    values = {"managerConfig": {"controllerManagerConfigYaml": text}}
    assert kueue_manager_config(values)["manageJobsWithoutQueueName"] is True
    assert kueue_manager_config({}) == {} and kueue_manager_config({"managerConfig": {"x": 1}}) == {}
    assert kueue_manager_config({"managerConfig": {"controllerManagerConfigYaml": "- a list"}}) == {}
