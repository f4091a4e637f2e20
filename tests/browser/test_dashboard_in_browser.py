"""The dashboard in a real browser: the manager opens it, the charts draw (ECharts from
our static folder, under the CSP, no console error), the street switcher narrows it,
and a figure opens the list it counts, already filtered. Screenshots are kept in
``test-artifacts/`` (desk and phone size).

Run: ``.venv/bin/python -m pytest tests/browser/test_dashboard_in_browser.py -q``.
"""

import re

import pytest

from tests.browser.screens import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser


def test_manager_dashboard_charts_switcher_and_links(page, browser_login, artifacts_dir):
    problems: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on(
        "response",
        lambda r: (
            problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    browser_login("manager")
    page.click("text=数据看板")
    page.wait_for_url(re.compile(r"/admin/dashboard/"))
    page.select_option("#period", "this_year")
    page.wait_for_url(re.compile(r"period=this_year"))
    page.wait_for_selector('.yj-chart[data-rendered="1"] svg')
    assert page.locator('.yj-chart[data-rendered="1"]').count() >= 5
    assert page.locator("#comparison tbody tr").count() == 4  # the demo's four streets
    page.screenshot(path=str(artifacts_dir / "dashboard-district.png"), full_page=True)

    # the street switcher: the comparison table lists that street's communities
    with page.expect_navigation():
        page.select_option("#street-switcher select", label="城东街道")
    assert "/admin/dashboard/" in page.url
    assert "城东街道" in page.locator("#dashboard-title").inner_text()
    page.wait_for_selector('.yj-chart[data-rendered="1"] svg')
    communities = page.locator("#comparison tbody tr").count()
    assert communities >= 2
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts_dir / "dashboard-street-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})

    # a figure opens the list it counts, already filtered
    cell = page.locator('#comparison tbody tr td[data-figure="households"] a').first
    expected = int(cell.inner_text())
    with page.expect_navigation():
        cell.click()
    assert "/admin/household/" in page.url and "flt0_" in page.url
    shown = page.locator("table.model-list tbody tr").count()
    assert shown == min(expected, 20)  # the list's first page
    violations = page.evaluate("window.__violations || []")
    assert not violations and not problems, (violations, problems)
