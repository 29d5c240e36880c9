"""The attack matrix: every ordered pair of tenants, every path, against the site's rendered state.

The state is the site's real plan (the composition on Pulumi's mock runtime). Which engine
decides what: admission policies' CEL runs in the real CEL engine (cel-cpp via cel-expr-python);
which policy a request meets, RBAC (and the Node authorizer), the NodeRestriction plugin's label
rule, Pod Security, ResourceQuota, Kueue's choice of jobs and NetworkPolicy are evaluators
(tests/isolation/*_evaluator.py, each tested in test_evaluators.py). Every applicable attack must be
denied (or held by Kueue) by the control ``EXPECTED`` names; removing every object that stopped it
(and switching off the built-in controls that did) must let it through, so no attack passes
vacuously.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from attack_matrix import EXPECTED, EXPECTED_KINDS, attempts, not_applicable
from isolation_cluster import Attempt, Cluster, Decision

from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.engine.planner import plan_site

REPO = Path(__file__).resolve().parents[2]


@cache
def site(name: str) -> tuple[SiteConfig, Cluster]:
    config = load_site(REPO / "site-configs" / f"{name}.yaml")
    return config, Cluster.of_plan(plan_site(config))


def matrix(name: str) -> list[tuple[Attempt, Decision]]:
    config, cluster = site(name)
    return [
        (attempt, cluster.decide(attempt))
        for attacker in config.tenants
        for victim in config.tenants
        if attacker is not victim
        for attempt in attempts(config, attacker, victim)
    ]


def check_matrix(name: str) -> None:
    config, cluster = site(name)
    results = matrix(name)
    failures = []
    for attempt, decision in results:
        where = f"{name}: {attempt.attacker} -> {attempt.victim}: {attempt.name}"
        expected = "held" if attempt.name == "bypass-kueue" else "denied"
        if decision.outcome != expected:
            failures.append(f"{where}: {decision.outcome}, expected {expected}")
            continue
        if not EXPECTED[attempt.name] <= set(decision.deciders):
            failures.append(f"{where}: decided by {decision.deciders}, expected {EXPECTED[attempt.name]} among them")
        kind = EXPECTED_KINDS.get(attempt.name)
        if kind and not any(d[0] == kind for d in decision.deciders):
            failures.append(f"{where}: decided by {decision.deciders}, expected a {kind}")
        # No vacuous pass: without everything that stopped it, the same attempt goes through.
        undone = cluster.without(decision.deciders).decide(attempt)
        if undone.outcome != "allowed":
            failures.append(f"{where}: still {undone.outcome} without {decision.deciders}: {undone.reasons}")
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} failures)"
    # Every ordered pair was attacked on every path that applies to it.
    pairs = [(a, v) for a in config.tenants for v in config.tenants if a is not v]
    for attacker, victim in pairs:
        made = {x.name for x, _ in results if (x.attacker, x.victim) == (attacker.name, victim.name)}
        assert made | set(not_applicable(config, attacker, victim)) == set(EXPECTED), (attacker.name, victim.name)


def test_pilot_every_attack_is_stopped_by_a_named_control_and_none_passes_vacuously() -> None:
    check_matrix("eu-pilot")


def test_pilot_the_hospital_is_attacked_on_every_path() -> None:
    config, _ = site("eu-pilot")
    hospital = config.tenant("oslo-hospital")
    assert hospital is not None
    for attacker in config.tenants:
        if attacker is hospital:
            continue
        skipped = not_applicable(config, attacker, hospital)
        # The hospital has dedicated nodes, a partition and storage of its own: nothing is skipped.
        assert skipped == {}, skipped


def test_the_matrix_catches_a_missing_control() -> None:
    # The same attacks against a cluster without its admission policies are let through: the
    # matrix can fail.
    config, cluster = site("eu-pilot")
    weakened = Cluster(
        [o for o in cluster.objects if not o["kind"].startswith("ValidatingAdmissionPolicy")], cluster.kueue
    )
    fjord, hospital = config.tenant("fjord-ai"), config.tenant("oslo-hospital")
    assert fjord is not None and hospital is not None
    outcomes = {x.name: weakened.decide(x).outcome for x in attempts(config, fjord, hospital)}
    for path in ("schedule-toleration", "partition-annotation-json", "external-ips", "storage-bind-victim-volume"):
        assert outcomes[path] == "allowed", path


@pytest.mark.slow
def test_gigafactory_every_attack_is_stopped_by_a_named_control_and_none_passes_vacuously() -> None:
    # Planning the 100,000-GPU site takes ~20 s; the matrix itself a few seconds.
    check_matrix("eu-gigafactory")
