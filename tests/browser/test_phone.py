"""On a phone (390×844, touch): a community worker's lists fit the screen, a home
visit is recorded with the phone's own date input, and a photo is added to a service
record through the camera input, with no policy violation and no script error.

Screenshots go to test-artifacts/ (phone-*.png) for a human to look at.
"""

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.browser.screens import BODY_OVERFLOW, PHONE, RECORD_VIOLATIONS

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(chromium_browser, live_server):
    """A phone-sized, touch browser page with the app as base URL; it records policy
    violations and script errors (``phone.problems()``)."""
    context = chromium_browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"script error: {e}"))
    page.on(
        "console",
        lambda m: (
            errors.append(f"console: {m.text}")
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    page.problems = lambda: errors + page.evaluate("window.__violations || []")
    try:
        yield page
    finally:
        context.close()


def _log_in(page, username: str) -> None:
    from app.demo import DEMO_PASSWORD

    page.goto("/login")
    form = page.locator("form#login-form")
    form.locator('input[name="username"]').fill(username)
    form.locator('input[name="password"]').fill(DEMO_PASSWORD)
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()


def _query(live_server, fn):
    from app.extensions import db

    with live_server.app.app_context():
        try:
            return fn(db)
        finally:
            db.session.remove()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 160, 90)).save(out, format="JPEG")
    return out.getvalue()


def _worker_household_and_record(db):
    """A household of 和平社区 open for visits, and a service record of that community."""
    from app.models import Area, Household, ServiceRecord

    heping = db.session.scalar(select(Area.id).where(Area.name == "和平社区"))
    household = db.session.scalar(
        select(Household.id)
        .where(Household.community_id == heping, Household.status != "closed")
        .order_by(Household.id)
    )
    record = db.session.scalar(
        select(ServiceRecord.id)
        .where(ServiceRecord.community_id == heping)
        .order_by(ServiceRecord.id)
    )
    return household, record


@pytest.mark.parametrize("path", ["/admin/household/", "/admin/service_record/", "/admin/need/"])
def test_lists_fit_the_phone(phone, artifacts_dir, path):
    _log_in(phone, "worker")
    phone.goto(path)
    assert phone.evaluate(BODY_OVERFLOW) <= 0, "the page is wider than the phone"
    # each row is a card of labelled values, not a table of one-character columns
    assert phone.locator("table.model-list.yj-cards").count() == 1
    first = phone.locator("table.model-list tbody tr").first
    assert first.locator("td[data-label]").count() >= 3
    assert first.bounding_box()["width"] <= PHONE["width"]
    phone.screenshot(path=artifacts_dir / f"phone-list{path.replace('/', '-')}.png")
    assert phone.problems() == []


def test_a_worker_records_a_home_visit_and_adds_a_photo(phone, live_server, artifacts_dir):
    from app.models import Assessment, StoredFile

    household_id, record_id = _query(live_server, _worker_household_and_record)
    assert household_id is not None and record_id is not None
    visits = lambda db: db.session.scalar(  # noqa: E731
        select(func.count()).select_from(Assessment).where(Assessment.household_id == household_id)
    )
    photos = lambda db: db.session.scalar(  # noqa: E731
        select(func.count())
        .select_from(StoredFile)
        .where(StoredFile.service_record_id == record_id)
    )
    visits_before, photos_before = _query(live_server, visits), _query(live_server, photos)
    _log_in(phone, "worker")

    # the household's story offers the visit form, with the household filled in
    phone.goto(f"/admin/household/story/?id={household_id}")
    with phone.expect_navigation():
        phone.locator('a[href*="/admin/assessment/new/"]').first.click()
    assert phone.evaluate(BODY_OVERFLOW) <= 0
    date = phone.locator("input#visit_date")
    # the phone's own date input: nothing of ours opens over the next field
    assert date.get_attribute("type") == "date"
    date.fill(dt.date.today().isoformat())
    date.click()
    findings = phone.locator("#findings")
    box = findings.bounding_box()
    on_top = phone.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).id",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert on_top == "findings", f"the next field is covered by {on_top!r}"
    assert phone.locator(".daterangepicker:visible").count() == 0
    findings.fill("卧床，午餐靠邻居；窗纱破损")
    for dimension in ("physiological", "psychological", "social", "daily_living", "employment"):
        phone.locator(f"select#severity_{dimension}").select_option("3")
    phone.screenshot(path=artifacts_dir / "phone-home-visit.png", full_page=True)
    with phone.expect_navigation():
        phone.locator('form.admin-form [type="submit"]').first.click()
    assert _query(live_server, visits) == visits_before + 1, phone.content()[:2000]

    # the service record's camera input opens the back camera; a photo is kept
    phone.goto(f"/admin/service_record/edit/?id={record_id}")
    camera = phone.locator('input[name="evidence_photos"]')
    assert camera.get_attribute("accept") == "image/*"
    assert camera.get_attribute("capture") == "environment"
    camera.set_input_files(
        files=[{"name": "入户照片.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    )
    assert phone.evaluate(BODY_OVERFLOW) <= 0
    phone.screenshot(path=artifacts_dir / "phone-service-record.png", full_page=True)
    with phone.expect_navigation():
        phone.locator('form.admin-form [type="submit"]').first.click()
    assert _query(live_server, photos) == photos_before + 1
    phone.goto(f"/admin/service_record/details/?id={record_id}")
    thumbnail = phone.locator("#evidence img").nth(photos_before)
    thumbnail.scroll_into_view_if_needed()
    phone.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    assert phone.evaluate(BODY_OVERFLOW) <= 0
    assert phone.problems() == []
