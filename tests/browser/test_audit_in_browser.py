"""In a real browser: a street clerk changes a household's phone number, and the
district administrator finds the change in 审计日志 — masked, with who and when — and
follows "that day" to everything the clerk did that day. Members' ID numbers on the
household's page are masked until 显示, which shows the value in place.

Screenshots go to test-artifacts/ (audit-*.png) for a human to look at.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.browser

NEW_PHONE = "13955501234"


def _clerks_household(live_server):
    from app.extensions import db
    from app.models import Area, Household, Member, User

    with live_server.app.app_context():
        clerk = db.session.scalars(select(User).where(User.username == "chengdong")).one()
        street = db.session.get(Area, clerk.area_id)
        household = db.session.scalars(
            select(Household)
            .where(
                Household.street_id == street.id,
                Household.archived_at.is_(None),
                Household.id.in_(select(Member.household_id).where(Member.id_number.is_not(None))),
            )
            .order_by(Household.id)
        ).first()
        assert household is not None, "the demo has a household with members in the street"
        member = next(m for m in household.members if m.id_number)
        found = (household.id, household.head_phone, clerk.full_name, member.id, member.id_number)
        db.session.remove()
        return found


def test_a_clerks_phone_change_is_found_in_the_audit_log(
    page, browser_login, chromium_browser, live_server, artifacts_dir
):
    from app.validation import mask_id_number, mask_phone

    household_id, old_phone, clerk_name, member_id, member_number = _clerks_household(live_server)
    assert old_phone != NEW_PHONE

    # the clerk changes the phone on the household's edit form
    browser_login("chengdong")
    page.goto(f"/admin/household/edit/?id={household_id}")
    page.locator("input#head_phone").fill(NEW_PHONE)
    with page.expect_navigation():
        page.locator('form.admin-form [type="submit"]').first.click()
    assert "/admin/household/" in page.url
    assert page.locator(".alert-danger").count() == 0, page.locator(
        ".alert-danger"
    ).all_inner_texts()
    changed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    # the household's page: the phone and the members' ID numbers masked until 显示
    page.goto(f"/admin/household/details/?id={household_id}")
    body = page.content()
    assert NEW_PHONE not in body and member_number not in body
    assert mask_id_number(member_number) in body
    history = page.locator(".yijia-history")
    assert mask_phone(NEW_PHONE) in history.inner_text()
    page.screenshot(path=str(artifacts_dir / "audit-household-details.png"), full_page=True)
    reveal = page.locator(f'form.yijia-reveal[action*="/admin/member/reveal/?id={member_id}"]')
    reveal.locator("button").click()
    page.wait_for_function(
        "n => document.body.innerText.includes(n)", arg=member_number, timeout=5000
    )
    assert reveal.count() == 0  # the button gives way to the value

    # the district administrator finds it in 审计日志
    admin_context = chromium_browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    admin_context.set_default_timeout(10_000)
    try:
        admin = admin_context.new_page()
        from app.demo import DEMO_PASSWORD

        admin.goto("/login")
        admin.locator('input[name="username"]').fill("admin")
        admin.locator('input[name="password"]').fill(DEMO_PASSWORD)
        with admin.expect_navigation():
            admin.locator('form#login-form button[type="submit"]').click()
        admin.goto("/admin/audit/")
        assert admin.locator("h4, h1, h2").first.is_visible()
        row = admin.locator("table.model-list tbody tr", has_text=mask_phone(NEW_PHONE)).first
        text = row.inner_text()
        assert clerk_name in text, text
        assert mask_phone(old_phone) in text and NEW_PHONE not in admin.content()
        when = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?", text)
        assert when, text
        shown = dt.datetime.strptime(when.group(0)[:16], "%Y-%m-%d %H:%M")
        assert abs((shown - changed_at).total_seconds()) < 180, (shown, changed_at)
        admin.screenshot(path=str(artifacts_dir / "audit-log-desk.png"), full_page=True)
        # one click: everything the clerk did that day
        with admin.expect_navigation():
            row.locator("a", has_text="当天").first.click()
        assert (
            admin.locator("table.model-list tbody tr", has_text=mask_phone(NEW_PHONE)).count() == 1
        )
        names = admin.locator("table.model-list tbody tr").all_inner_texts()
        assert names and all(clerk_name in n for n in names), names
        admin.set_viewport_size({"width": 390, "height": 844})
        admin.screenshot(path=str(artifacts_dir / "audit-log-phone.png"), full_page=True)
    finally:
        admin_context.close()
