"""The site report in a real browser: headless Chromium (Debian's) driven by selenium.

Structure is asserted on the DOM against the plan (scalable units, spine groups, link bundles,
racks, tenants), not by comparing pixels; every label must sit inside the box that holds it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.cli import main
from infra.config.loader import load_site
from infra.config.model import SiteConfig
from infra.plan.floor import plan_floor
from infra.plan.site_plan import build_site_plan

REPO = Path(__file__).resolve().parents[2]
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMEDRIVER is None, reason="Debian's chromium-driver is not installed (tests/run.sh installs it)"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1600,1200",
    ):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


# Each label's box inside its parent's: a text in an SVG inside that SVG, an SU's name inside its square.
CLIPPED_LABELS = """
const out = [];
const inside = (a, b) =>
  a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
document.querySelectorAll('svg text').forEach(t => {
  const box = t.getBoundingClientRect();
  if (!inside(box, t.ownerSVGElement.getBoundingClientRect())) out.push('outside its figure: ' + t.textContent);
  const su = t.closest('g.su');
  const square = su && su.querySelector('rect').getBoundingClientRect();
  if (su && !inside(box, square)) out.push('outside its unit: ' + t.textContent);
});
return out;
"""


def _report(tmp_path: Path, site: str) -> Path:
    target = tmp_path / f"{site}.html"
    assert main(["report", str(REPO / "site-configs" / f"{site}.yaml"), "-o", str(target)]) == 0
    return target


@pytest.mark.parametrize("site", ["eu-pilot", "eu-gigafactory"])
def test_report_loads_cleanly_and_matches_the_plan(browser: Any, tmp_path: Path, site: str) -> None:
    page = _report(tmp_path, site)
    config = load_site(REPO / "site-configs" / f"{site}.yaml")
    fabric = build_site_plan(config).fabric
    browser.get(page.as_uri())
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors
    size = browser.execute_script(
        "const r = document.getElementById('topology').getBoundingClientRect(); return [r.width, r.height];"
    )
    assert size[0] > 0 and size[1] > 0, "the topology figure has no size"
    count = lambda selector: browser.execute_script(f"return document.querySelectorAll({selector!r}).length;")  # noqa: E731
    assert count("#topology g.su") == fabric.scalable_units
    assert count("#topology g.spine-group") == len(fabric.shape.spine_groups)
    pods = len({group.pod for group in fabric.shape.spine_groups})
    expected_bundles = len(fabric.shape.spine_groups) + (pods if fabric.tiers == 3 else 0)
    assert count("#topology g.link-bundle") == expected_bundles
    cables = browser.execute_script(
        "return [...document.querySelectorAll('#topology g.link-bundle[data-tier=\"leaf-spine\"]')]"
        ".reduce((s, g) => s + Number(g.dataset.cables), 0);"
    )
    assert cables == fabric.cables.leaf_spine, "the bundles carry every leaf-spine cable"
    assert count("#tenant-table tr.tenant") == len(config.tenants)
    floor = plan_floor(config, fabric)
    assert count("details.rack-row") == floor.rows
    assert count("#topology g.su.regulated") == sum(
        p.scalable_units for p in config.node_pools if p.dedicated_to and _regulated(config, p.dedicated_to)
    )
    # Open the last row (closed by default on a large site): its elevations are drawn then, one per rack.
    browser.execute_script("const d = [...document.querySelectorAll('details.rack-row')].pop(); d.open = true;")
    drawn = browser.execute_script(
        "const d = [...document.querySelectorAll('details.rack-row')].pop();"
        "return [d.querySelectorAll('g.rack-elevation').length, d.querySelectorAll('rect.node').length,"
        " d.querySelectorAll('rect.switch-unit').length];"
    )
    last_row = [rack for rack in floor.racks if rack.row == floor.rows - 1]
    devices = [name for rack in last_row for name, _ in floor.contents(rack)]
    switches = {s.name for s in fabric.switches()}
    assert drawn == [len(last_row), sum(d not in switches for d in devices), sum(d in switches for d in devices)]
    assert browser.execute_script(CLIPPED_LABELS) == []
    browser.save_screenshot(str(tmp_path / f"{site}.png"))
    assert (tmp_path / f"{site}.png").stat().st_size > 10_000


def test_acceptance_results_colour_the_nodes(browser: Any, tmp_path: Path) -> None:
    import json

    results = {
        "format_version": 1,
        "site": "eu-pilot",
        "passed": False,
        "summary": [],
        "nodes": [
            {
                "node": "pilot-gpu-001",
                "pool": "h100-train",
                "status": "fail",
                "checks": [
                    {"name": "ib-port-mlx5_5", "status": "fail", "expected": "", "observed": "", "message": "DOWN"}
                ],
            },
            {"node": "pilot-gpu-002", "pool": "h100-train", "status": "pass", "checks": []},
            {"node": "pilot-gpu-003", "pool": "h100-train", "status": "error", "checks": []},
        ],
    }
    (tmp_path / "acceptance.json").write_text(json.dumps(results))
    page = tmp_path / "pilot.html"
    site = str(REPO / "site-configs" / "eu-pilot.yaml")
    assert main(["report", site, "-o", str(page), "--acceptance", str(tmp_path / "acceptance.json")]) == 0
    browser.get(page.as_uri())
    colours = browser.execute_script(
        "return ['pass', 'fail', 'error'].map(s => document.querySelectorAll('rect.node-' + s).length);"
    )
    assert colours == [1, 1, 1]
    failing = browser.execute_script("return [...document.querySelectorAll('#failing td')].map(t => t.textContent);")
    assert failing == ["pilot-gpu-001", "ib-port-mlx5_5", "pilot-gpu-003", "unreachable"]


def _regulated(config: SiteConfig, tenant: str) -> bool:
    found = config.tenant(tenant)
    return found is not None and found.kind == "regulated"


def test_colour_by_tenant_and_filter_by_pool(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(_report(tmp_path, "eu-pilot").as_uri())
    fills = (
        "return [...document.querySelectorAll('#topology g.su > rect[data-fill-pool]')]"
        ".map(r => r.getAttribute('fill'));"
    )
    by_pool = browser.execute_script(fills)
    Select(browser.find_element(By.ID, "colour-by")).select_by_value("tenant")
    by_tenant = browser.execute_script(fills)
    # h100-train's largest holder is nordic-llm-lab; the clinical unit stays hatched (regulated).
    assert by_tenant != by_pool and by_tenant[-1] == by_pool[-1] == "url(#regulated)"
    assert browser.find_element(By.ID, "tenant-legend").is_displayed()
    Select(browser.find_element(By.ID, "pool-filter")).select_by_value("h100-clinical")
    shown = browser.execute_script(
        "return [...document.querySelectorAll('#topology g.su')].filter(g => g.style.display !== 'none')"
        ".map(g => g.dataset.pool);"
    )
    assert shown == ["h100-clinical"]
