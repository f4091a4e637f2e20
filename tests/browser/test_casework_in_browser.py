"""Casework and sponsorship in a real browser, with CSRF on: a worker adds a photo to
a service record and sees its thumbnail (and a renamed web page is refused); a
sponsor pledges through the portal form (and an over-pledge is refused)."""

import io
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select

pytestmark = pytest.mark.browser


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def _query(live_server, fn):
    from app.extensions import db

    with live_server.app.app_context():
        try:
            return fn(db)
        finally:
            db.session.remove()


def test_worker_adds_a_photo_and_sees_its_thumbnail(live_server, browser_login):
    from app.models import Area, ServiceRecord, StoredFile

    def record_in_heping(db):
        heping = db.session.scalar(select(Area.id).where(Area.name == "和平社区"))
        return db.session.scalar(
            select(ServiceRecord.id)
            .where(ServiceRecord.community_id == heping)
            .order_by(ServiceRecord.id)
        )

    record_id = _query(live_server, record_in_heping)
    assert record_id is not None
    count = lambda db: db.session.scalar(  # noqa: E731
        select(func.count())
        .select_from(StoredFile)
        .where(StoredFile.service_record_id == record_id)
    )
    before = _query(live_server, count)
    page = browser_login("worker")

    # a web page renamed to a photo is refused with a message; nothing is added
    page.goto(f"/admin/service_record/edit/?id={record_id}")
    page.set_input_files(
        'input[name="evidence_files"]',
        files=[
            {"name": "收据.jpg", "mimeType": "image/jpeg", "buffer": b"<html><script>1</script>"}
        ],
    )
    page.locator('form.admin-form [type="submit"]').first.click()
    page.wait_for_load_state()
    assert "与文件名不符" in page.content()
    assert _query(live_server, count) == before

    # a real photo is kept and shown as a thumbnail that loads
    page.goto(f"/admin/service_record/edit/?id={record_id}")
    page.set_input_files(
        'input[name="evidence_files"]',
        files=[{"name": "收据.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}],
    )
    page.locator('form.admin-form [type="submit"]').first.click()
    page.wait_for_load_state()
    assert _query(live_server, count) == before + 1
    page.goto(f"/admin/service_record/details/?id={record_id}")
    thumbnails = page.locator("#evidence img")
    assert thumbnails.count() == before + 1
    last = thumbnails.nth(before)
    last.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=last.element_handle())


def test_sponsor_pledges_through_the_portal(live_server, browser_login):
    from app.models import Pledge, Project, User

    def open_project(db):
        project = db.session.scalar(
            select(Project)
            .where(
                Project.status == "open",
                Project.public_summary.is_not(None),
                Project.budget - Project.pledged_total > 100,
            )
            .order_by(Project.id)
        )
        return project.id, project.budget - project.pledged_total

    project_id, remaining = _query(live_server, open_project)
    page = browser_login("sponsor")
    page.goto(f"/admin/sponsor/projects/details/?id={project_id}")

    form = page.locator("#pledge-form form")
    form.locator('input[name="amount"]').fill(str(remaining + Decimal("1")))
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    assert "剩余可认领金额" in page.content() and f"{remaining:.2f}" in page.content()

    form = page.locator("#pledge-form form")
    form.locator('input[name="amount"]').fill("100")
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()

    def newest_pledge(db):
        org = db.session.scalar(select(User.organisation_id).where(User.username == "sponsor"))
        pledge = db.session.scalar(
            select(Pledge).where(Pledge.organisation_id == org).order_by(Pledge.id.desc())
        )
        return pledge.project_id, pledge.amount_yuan, pledge.status

    assert _query(live_server, newest_pledge) == (project_id, Decimal("100.00"), "pending")
    page.goto("/admin/sponsor/pledges/")
    assert page.locator("table.model-list").count() == 1
    assert "100.00" in page.locator("table.model-list").inner_text()
