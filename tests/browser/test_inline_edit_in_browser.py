"""The needs list's inline status edit in a real browser: its cells carry no choices
or token of their own (the list writes them once, app/admin/listing.py) and still open
with every status to choose from, save the one chosen, and show it after a reload.

Run: ``.venv/bin/python -m pytest tests/browser -q`` (needs /usr/bin/chromium).
"""

import re

import pytest

from tests.browser.test_csp_in_browser import watched  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser

STATUSES = ["待处理", "已对接", "进行中", "已满足", "已撤回"]


def test_a_clerk_changes_a_needs_status_in_the_list(watched, browser_login):  # noqa: F811
    page = watched
    browser_login("chengdong")
    response = page.goto("/admin/need/")
    html = response.text()
    # the page carries the choices once, not once a row
    assert html.count("data-source=") == 1
    cells = page.locator("a[data-role='x-editable'][name='status']")
    assert cells.count() > 1
    # every cell got them back before x-editable started
    shared = page.evaluate(
        """() => Array.from(document.querySelectorAll("a[data-role='x-editable']")).every(
             a => a.getAttribute("data-source") && a.getAttribute("data-csrf"))"""
    )
    assert shared
    cell = cells.first
    pk = cell.get_attribute("data-pk")
    before = cell.inner_text().strip()
    target = "已撤回" if before != "已撤回" else "进行中"

    cell.click()
    editor = page.locator(".editableform")
    editor.wait_for(state="visible")
    # the editor opens with its drop-down open
    options = page.locator(".select2-results li, .select2-result-label")
    options.first.wait_for(state="visible")
    offered = [t.strip() for t in options.all_inner_texts() if t.strip()]
    assert all(status in offered for status in STATUSES), offered
    page.locator(".select2-results li, .select2-result-label").filter(has_text=target).first.click()
    with page.expect_response(re.compile(r"/admin/need/ajax/update/")) as saved:
        page.locator(".editableform button[type='submit'], .editable-submit").first.click()
    assert saved.value.status == 200
    page.wait_for_function(
        "([pk, text]) => document.querySelector(`a[data-pk='${pk}']`).textContent.trim() === text",
        arg=[pk, target],
    )
    page.reload()
    assert page.locator(f"a[data-role='x-editable'][data-pk='{pk}']").inner_text().strip() == target
    page.check_clean("inline status edit")
