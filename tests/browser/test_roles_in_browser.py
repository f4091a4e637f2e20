"""Each demo role in a real browser: log in through the form, see the landing page in
Chinese, open a list it may see, be refused a page it may not; switch the language;
and a sponsor never sees an ID number or a phone number.

Run: ``.venv/bin/python -m pytest tests/browser -q`` (needs /usr/bin/chromium).
Landing-page screenshots land in ``test-artifacts/`` for a human to look at.
"""

import re

import pytest

pytestmark = pytest.mark.browser

CJK_RE = re.compile(r"[\u4e00-\u9fff]")
ID_NUMBER_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")

HOUSEHOLDS = "/admin/household/"
SPONSOR_PROJECTS = "/admin/sponsor/projects/"
USERS = "/admin/user/"

#: role → (demo username, a list it may open, a page it is refused)
ROLES = {
    "district_admin": ("admin", HOUSEHOLDS, SPONSOR_PROJECTS),
    "district_manager": ("manager", HOUSEHOLDS, USERS),
    "street_clerk": ("chengdong", HOUSEHOLDS, USERS),
    "community_worker": ("worker", HOUSEHOLDS, USERS),
    "sponsor": ("sponsor", SPONSOR_PROJECTS, HOUSEHOLDS),
}

#: data rows of a Flask-Admin list (the "no items" row has no column cells)
LIST_ROWS = 'table.model-list tr:has(td[class^="col-"])'


def _zh_translation(live_server, message: str, **kwargs) -> str:
    """What the app's own Chinese catalog makes of ``message`` (the message itself
    while the catalog does not translate it)."""
    from flask_babel import force_locale, gettext

    with live_server.app.test_request_context("/"), force_locale("zh_Hans_CN"):
        return gettext(message, **kwargs)


@pytest.mark.parametrize("role", list(ROLES))
def test_role_sees_landing_list_and_is_refused(role, browser_login, live_server, artifacts_dir):
    username, allowed, refused = ROLES[role]
    page = browser_login(username)

    # Landing page: the user's scope and counters, in Chinese.
    scope = page.locator("#scope")
    scope.wait_for(state="visible")
    assert CJK_RE.search(page.inner_text("body")), "landing page shows no Chinese"
    # Exactly what the app's Chinese catalog says (欢迎… once the catalog is compiled).
    full_name = page.locator("#current-user").inner_text().strip()
    assert _zh_translation(live_server, "Welcome, %(name)s", name=full_name) in scope.inner_text()
    assert page.locator("#count-projects").is_visible()
    if role == "sponsor":
        assert page.locator("#count-households").count() == 0
    else:
        assert page.locator("#count-households").is_visible()
    page.screenshot(path=str(artifacts_dir / f"landing-{role}.png"), full_page=True)

    # A list the role may see: at least one row, in Chinese.
    response = page.goto(allowed)
    assert response is not None and response.status == 200, f"{role} {allowed}: {response.status}"
    rows = page.locator(LIST_ROWS)
    assert rows.count() >= 1, f"{role} sees an empty list at {allowed}"
    assert CJK_RE.search(page.locator("table.model-list").inner_text())

    # A page the role may not see: 403, and the error page says who may do it.
    response = page.goto(refused)
    assert response is not None and response.status == 403, f"{role} {refused}: {response.status}"
    message = page.locator("#error-message")
    assert message.is_visible()
    said = _zh_translation(
        live_server,
        "You do not have permission to do this. It is done by: %(roles)s.",
        roles="\x00",
    )
    before, after = said.split("\x00")
    text = message.inner_text().strip()
    assert text.startswith(before) and text.endswith(after) and len(text) > len(said), text


def test_language_switch_and_logout(browser_login, live_server):
    page = browser_login("worker")
    try:
        scope = page.locator("#scope")
        zh_text = scope.inner_text()
        assert CJK_RE.search(zh_text)

        with page.expect_navigation():
            page.locator('#language-switcher button[name="locale"][value="en"]').click()
        assert re.search(r"/admin/?$", page.url)
        en_text = scope.inner_text()
        assert "Welcome" in en_text
        assert "Your role" in en_text
        assert page.locator("#logout").inner_text().strip() == "Log out"

        with page.expect_navigation():
            page.locator('#language-switcher button[name="locale"][value="zh_Hans_CN"]').click()
        assert scope.inner_text() == zh_text
        assert CJK_RE.search(page.inner_text("body"))
        full_name = page.locator("#current-user").inner_text().strip()
        assert _zh_translation(live_server, "Welcome, %(name)s", name=full_name) in zh_text

        with page.expect_navigation():
            page.locator("#logout").click()
        assert page.url.endswith("/login")
        assert page.locator("form#login-form").is_visible()
        assert page.goto("/admin/household/").url.split("?")[0].endswith("/login")
    finally:
        _reset_locale(live_server, "worker")


def _reset_locale(live_server, username: str) -> None:
    """The switch is saved on the account; leave the account as the demo made it."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User

    with live_server.app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        user.locale = None
        db.session.commit()
        db.session.remove()


def _assert_no_personal_numbers(page, where: str) -> None:
    html = page.content()
    ids = ID_NUMBER_RE.findall(html)
    phones = PHONE_RE.findall(html)
    assert not ids, f"sponsor sees ID-number-like text on {where}: {len(ids)} match(es)"
    assert not phones, f"sponsor sees phone-like text on {where}: {len(phones)} match(es)"


def test_sponsor_never_sees_id_numbers_or_phones(browser_login):
    page = browser_login("sponsor")
    _assert_no_personal_numbers(page, "/admin/")

    response = page.goto(SPONSOR_PROJECTS)
    assert response is not None and response.status == 200
    assert page.locator(LIST_ROWS).count() >= 1
    _assert_no_personal_numbers(page, SPONSOR_PROJECTS)

    details = page.locator(f'{LIST_ROWS} a[href*="/details/"]').first
    with page.expect_navigation():
        details.click()
    assert "/details/" in page.url
    assert page.locator("table").first.is_visible()
    _assert_no_personal_numbers(page, page.url)
