"""Running the contracts: skipped without charts, errors located at the config line, every contract tested."""

from __future__ import annotations

from pathlib import Path

from contract_state import PILOT, pilot_plan, state
from test_networks import nad

from infra.engine.contracts.model import ClusterState, StateObject
from infra.engine.contracts.registry import CONTRACTS, contract_errors, contract_summary, run_contracts
from infra.engine.contracts.state import build_state, parse_partitions


def test_without_charts_the_contracts_needing_chart_objects_say_they_were_skipped() -> None:
    report = run_contracts(state([]))
    skipped = {c.id: why for c, why in report.skipped}
    assert set(skipped) == {c.id for c in CONTRACTS if c.needs_charts}
    assert all(why.startswith("skipped without --charts: ") for why in skipped.values())
    assert contract_summary(report)[1].startswith("  network-resource-advertised: skipped without --charts")


def test_violations_are_errors_at_the_line_that_wrote_the_value() -> None:
    plan = pilot_plan()
    pilot = build_state(plan)
    bad = StateObject(nad_with_pkey("0x9102"))
    report = run_contracts(ClusterState((*pilot.objects, bad), pilot.releases, pilot.facts, None, {"fjord-ai": 0x8102}))
    errors = [e for e in contract_errors(report, plan.facts, str(PILOT)) if "pkey 0x9102 has bits" in e.message]
    assert len(errors) == 1 and errors[0].field == "tenants.fjord-ai.pkey"
    line = next(i for i, text in enumerate(PILOT.read_text().splitlines(), 1) if "0x8102" in text)
    assert errors[0].location.line == line and errors[0].location.file.endswith("eu-pilot.yaml")
    assert errors[0].message.startswith("[pkey-valid] NetworkAttachmentDefinition fjord-ai/ib-rail9: pkey 0x9102")
    assert "rule: Mellanox/ib-kubernetes pkg/ib-utils/utils.go" in (errors[0].hint or "")


def test_objects_breaking_a_rule_alike_are_one_error() -> None:
    plan = pilot_plan()
    pilot = build_state(plan)
    bad = (StateObject(nad_with_pkey("0x9102", "ib-rail8")), StateObject(nad_with_pkey("0x9102", "ib-rail9")))
    report = run_contracts(
        ClusterState((*pilot.objects, *bad), pilot.releases, pilot.facts, None, {"fjord-ai": 0x8102})
    )
    errors = [e for e in contract_errors(report, plan.facts, str(PILOT)) if "pkey 0x9102 has bits" in e.message]
    assert len(errors) == 1 and "fjord-ai/ib-rail8, NetworkAttachmentDefinition fjord-ai/ib-rail9" in errors[0].message


def test_partitions_conf_is_read_by_name_and_key() -> None:
    text = "Default=0x7fff,ipoib : ALL=full ;\n# c\nfjord-ai=0x8102,ipoib,rate=21 : ;\n"
    assert parse_partitions(text) == {"Default": 0x7FFF, "fjord-ai": 0x8102}


def test_every_contract_cites_its_upstream_source_and_has_failing_and_passing_tests() -> None:
    tests = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    for contract in CONTRACTS:
        assert "/" in contract.source and contract.rule, contract.id
        check = contract.check.__name__
        assert check in tests, f"{contract.id}: no test calls {check}"


def nad_with_pkey(pkey: str, name: str = "ib-rail9") -> dict[str, object]:
    document = nad(pkey)
    document["metadata"] = {**document["metadata"], "name": name}  # type: ignore[dict-item]
    return document
