"""The Content-Security-Policy in a real browser: the list, create, edit and details
pages, with their select2 drop-downs, date picker, filters, list actions, delete
confirmation and inline member forms, run with no policy violation and no script
error; the account form offers only the areas that fit the chosen role.

Run: ``.venv/bin/python -m pytest tests/browser -q`` (needs /usr/bin/chromium).
"""

import pytest

pytestmark = pytest.mark.browser

#: collects what the policy refused (the event the browser fires for each refusal)
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " "
    + (e.sample || ""));
});
"""


@pytest.fixture
def watched(page):
    """The page, recording policy violations, console errors and script errors."""
    problems: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)

    def on_console(message):
        # failed loads are reported with their address below (the browser's own
        # /favicon.ico request aside)
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console {message.type}: {message.text}")

    def on_response(response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))

    def check(where: str) -> None:
        violations = page.evaluate("window.__violations || []")
        found = [f"violation: {v}" for v in violations] + problems
        assert not found, f"{where}: {found}"

    page.check_clean = check
    return page


def _admin(watched, browser_login):
    browser_login("admin")
    watched.check_clean("landing page")
    return watched


def test_the_login_page_runs_under_the_policy(watched):
    response = watched.goto("/login")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    watched.check_clean("login page")


def test_a_list_page_with_filters_actions_and_delete_confirmation(watched, browser_login):
    page = _admin(watched, browser_login)
    page.goto("/admin/household/")
    page.check_clean("household list")
    rows_before = page.locator("table.model-list tbody tr").count()

    # filters: the "add filter" drop-down adds a filter row
    page.locator("a.dropdown-toggle:has(+ .field-filters)").click()
    page.locator("a.filter").first.click()
    page.locator(".filter-op").first.wait_for(state="visible")
    page.check_clean("adding a filter")

    # list action without a selection: actions.js answers with an alert
    messages: list[str] = []

    def dismiss(dialog):
        messages.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.locator("a.dropdown-toggle:has(+ .dropdown-menu [data-model-action])").click()
    page.locator("[data-model-action]").first.click()
    page.wait_for_timeout(200)
    assert messages, "the list action did not run"

    # delete asks first; dismissing keeps the row
    page.goto("/admin/household/")
    page.locator("form[data-confirm] button").first.click()
    page.wait_for_timeout(300)
    assert len(messages) == 2 and "删除" in messages[-1]
    assert page.locator("table.model-list tbody tr").count() == rows_before
    page.check_clean("delete confirmation")


def test_create_form_select2_date_picker_and_inline_members(watched, browser_login):
    page = _admin(watched, browser_login)
    page.goto("/admin/household/new/")
    page.check_clean("household create form")
    # select2 opens and searches
    page.locator(".select2-container").first.click()
    page.locator(".select2-drop-active").wait_for(state="visible")
    page.keyboard.press("Escape")
    # the date picker opens
    date_input = page.locator("input[data-role='datepicker']").first
    date_input.click()
    page.locator(".daterangepicker").first.wait_for(state="visible")
    page.keyboard.press("Escape")
    # an inline member form is added
    before = page.locator(".inline-field-list > .inline-field").count()
    page.locator("[data-add-inline-field]").first.click()
    assert page.locator(".inline-field-list > .inline-field").count() == before + 1
    page.check_clean("create form widgets")


def test_edit_and_details_pages(watched, browser_login):
    page = _admin(watched, browser_login)
    page.goto("/admin/household/")
    details = page.locator("a[href*='/admin/household/details/']").first.get_attribute("href")
    page.goto(details)
    page.check_clean("household details")
    page.goto(details.replace("/details/", "/edit/"))
    page.locator("form.admin-form").wait_for()
    page.check_clean("household edit")
    page.goto("/admin/need/")
    page.check_clean("need list")
    # inline editing (x-editable) opens its editor, choices parsed without eval
    editable = page.locator("a.editable, a[data-role='x-editable']").first
    if editable.count():
        editable.click()
        page.locator(".editable-input, .editableform").first.wait_for(state="visible")
        page.check_clean("inline edit")


def test_the_street_switcher_submits_without_an_inline_handler(watched, browser_login):
    page = _admin(watched, browser_login)
    switcher = page.locator("#street-switcher select")
    value = switcher.locator("option").nth(1).get_attribute("value")
    with page.expect_navigation():
        switcher.select_option(value)
    assert page.locator("#street-switcher select").input_value() == value
    page.check_clean("street switcher")


def test_the_account_form_offers_only_areas_that_fit_the_role(watched, browser_login):
    page = _admin(watched, browser_login)
    page.goto("/admin/user/new/")
    page.check_clean("account form")

    def enabled_levels():
        return page.evaluate(
            """() => {
              const area = document.querySelector('select[data-area-levels]');
              const levels = JSON.parse(area.dataset.areaLevels);
              return [...new Set([...area.options]
                .filter(o => !o.disabled && levels[o.value])
                .map(o => levels[o.value]))].sort();
            }"""
        )

    assert enabled_levels() == ["community", "district", "street"]
    # through select2, as a person picks
    page.locator("#s2id_role").click()
    page.locator(".select2-drop-active .select2-result-label", has_text="街道").first.click()
    assert page.locator("#role").input_value() == "street_clerk"
    assert enabled_levels() == ["street"]
    for role, levels in (("community_worker", ["community"]), ("sponsor", [])):
        page.evaluate("(r) => jQuery('#role').val(r).trigger('change')", role)
        assert enabled_levels() == levels
    page.check_clean("account form role switch")
