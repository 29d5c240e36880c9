"""Every contract, in order, and running them over a rendered state."""

from __future__ import annotations

from dataclasses import dataclass

from infra.config.errors import ConfigError, sorted_errors
from infra.engine.charts.provenance import located
from infra.engine.contracts import kueue, networks, storage, tolerations
from infra.engine.contracts.model import ClusterState, Contract, Violation
from infra.engine.facts import SiteFacts

CONTRACTS: tuple[Contract, ...] = (
    *networks.CONTRACTS,
    *kueue.CONTRACTS,
    *storage.CONTRACTS,
    *tolerations.CONTRACTS,
)


@dataclass(frozen=True)
class ContractReport:
    """What the contracts found: violations per contract, and contracts skipped with why."""

    violations: tuple[tuple[Contract, Violation], ...]
    skipped: tuple[tuple[Contract, str], ...]
    checked: tuple[Contract, ...]


def run_contracts(state: ClusterState, contracts: tuple[Contract, ...] = CONTRACTS) -> ContractReport:
    """Run every contract over ``state``; those needing chart objects are skipped without them."""
    violations: list[tuple[Contract, Violation]] = []
    skipped: list[tuple[Contract, str]] = []
    checked: list[Contract] = []
    for contract in contracts:
        if contract.needs_charts and state.charts is None:
            skipped.append((contract, f"skipped without --charts: {contract.needs_charts}"))
            continue
        checked.append(contract)
        violations.extend((contract, v) for v in contract.check(state))
    return ContractReport(tuple(violations), tuple(skipped), tuple(checked))


def contract_errors(report: ContractReport, facts: SiteFacts, fallback: str) -> list[ConfigError]:
    """Violations as config errors at the fact behind each; objects breaking one rule alike are listed together."""
    grouped: dict[tuple[Contract, str, str, str], list[str]] = {}
    for contract, violation in report.violations:
        grouped.setdefault((contract, violation.fact, violation.message, violation.hint), []).append(violation.subject)
    errors = [
        located(
            facts,
            fact,
            fallback,
            f"[{contract.id}] {', '.join(subjects)}: {message}",
            f"{hint} (rule: {contract.source})",
        )
        for (contract, fact, message, hint), subjects in grouped.items()
    ]
    return sorted_errors(errors)


def contract_summary(report: ContractReport) -> list[str]:
    """Lines for the command's output: how many contracts held, and each skipped one with why."""
    lines = [f"contracts: {len(report.checked)} checked, {len(report.violations)} violations"]
    lines.extend(f"  {contract.id}: {why}" for contract, why in report.skipped)
    return lines
