"""The examples each command's ``--help`` ends with: real invocations on the bundled sites.

One table, so every command has them and a test can parse each one with the real parser.
"""

from __future__ import annotations

import argparse

EXAMPLES: dict[str, tuple[str, ...]] = {
    "validate": (
        "gigafactory validate site-configs/*.yaml",
        "gigafactory validate --format json site-configs/eu-pilot.yaml",
    ),
    "new-site": (
        "gigafactory new-site eu-south --from eu-pilot",
        "gigafactory new-site eu-south --from site-configs/eu-pilot.yaml --ipoib-supernet 10.200.0.0/16",
    ),
    "fabric": (
        "gigafactory fabric site-configs/eu-pilot.yaml -o out/eu-pilot.fabric",
        "gigafactory fabric site-configs/eu-gigafactory.yaml -o out/eu-gigafactory.fabric --progress --format json",
    ),
    "fabric-verify": (
        "gigafactory fabric-verify site-configs/eu-pilot.yaml --discovered ibnetdiscover.out",
        "gigafactory fabric-verify site-configs/eu-pilot.yaml --discovered ibnetdiscover.out --format json",
        "gigafactory fabric-verify site-configs/eu-pilot.yaml --discovered ibnetdiscover.out --write-guids guids.json",
    ),
    "inventory": (
        "gigafactory inventory site-configs/eu-pilot.yaml -o inventory/eu-pilot.yaml",
        "gigafactory inventory site-configs/eu-pilot.yaml --format json",
    ),
    "verify": (
        "gigafactory verify site-configs/eu-pilot.yaml --hosts pilot-gpu-001,pilot-gpu-002 --label-failed "
        "--label-script quarantine.sh",
        "gigafactory verify site-configs/eu-pilot.yaml --inventory inventory/eu-pilot.yaml --limit pool_h100_train "
        "--workers 64 --format junit -o acceptance.xml",
    ),
    "plan": (
        "gigafactory plan site-configs/eu-pilot.yaml",
        "gigafactory plan site-configs/eu-pilot.yaml -o out/eu-pilot.plan.json",
        "gigafactory plan site-configs/eu-pilot.yaml --stats --against base.plan.json --touched touched.txt",
    ),
    "render": (
        "gigafactory render site-configs/eu-pilot.yaml -o out/eu-pilot.rendered",
        "gigafactory render out/eu-pilot.plan.json -o deploy/eu-pilot --gitops flux",
        "gigafactory render site-configs/eu-pilot.yaml -o deploy/eu-pilot --gitops argocd "
        "--repo-url https://git.example.eu/platform/sites.git",
    ),
    "diff": (
        "gigafactory diff old.plan.json new.plan.json",
        "gigafactory diff old.plan.json new.plan.json --format markdown -o comment.md --fail-on-danger",
    ),
    "migrate": (
        "gigafactory migrate eu-pilot.one-stack.plan.json eu-pilot.plan.json -o migration/eu-pilot",
        "gigafactory migrate before.plan.json after.plan.json -o migration/eu-pilot",
    ),
    "schema": (
        "gigafactory schema -o site-configs/site-layer.schema.json",
        "gigafactory schema",
    ),
    "completion": (
        "gigafactory completion bash > ~/.local/share/bash-completion/completions/gigafactory",
        "gigafactory completion zsh > ~/.zfunc/_gigafactory",
    ),
    "report": (
        "gigafactory report site-configs/eu-pilot.yaml -o out/eu-pilot.html",
        "gigafactory report site-configs/eu-pilot.yaml -o out/eu-pilot.html --acceptance acceptance-eu-pilot.json",
        "gigafactory report site-configs/eu-pilot.yaml -o out/eu-pilot.html --diff out/eu-pilot.old.plan.json",
    ),
    "check-job": (
        "gigafactory check-job examples/jobs/fjord-ai-finetune.yaml --site site-configs/eu-pilot.yaml",
        "gigafactory check-job job.yaml --plan out/eu-gigafactory.plan.json --tenant fjord-ai --format json",
    ),
}


EXAMPLES_HEAD = "examples:\n"


class ExamplesHelpFormatter(argparse.HelpFormatter):
    """Argparse's formatter, except that the examples block is printed as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(EXAMPLES_HEAD):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_examples(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """End each sub-command's ``--help`` with its examples, kept as written (no rewrapping)."""
    for name, parser in subparsers.choices.items():
        lines = EXAMPLES.get(name, ())
        if not lines:
            continue
        parser.epilog = EXAMPLES_HEAD + "\n".join(f"  {line}" for line in lines)
        parser.formatter_class = ExamplesHelpFormatter
