"""Hostile values in ids and amounts get a 404 or a clear message, never a 500."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Household, NeedMatch, Pledge, Project, StoredFile

# reads the demo district's rows; to be converted to tests/factories.py
pytestmark = pytest.mark.demo

HOSTILE_IDS = ["²", "٣", "99999999999999999999999", "2147483648", "-1", "1e3", "0x1"]
HOSTILE_AMOUNTS = ["1e30", "1E+100", "9" * 40, "NaN", "-Infinity", "12.345", "一百"]


@pytest.mark.parametrize("raw", HOSTILE_IDS)
def test_hostile_ids_are_not_found(shared_app, shared_login, raw):
    admin, sponsor = shared_login("district_admin"), shared_login("sponsor")
    worker = shared_login("community_worker")
    for client, method, url, data in [
        (admin, "get", "/admin/household/details/", {"id": raw}),
        (admin, "get", "/admin/household/story/", {"id": raw}),
        (worker, "get", "/admin/assessment/new/", {"household_id": raw}),
        (sponsor, "post", "/admin/sponsor/projects/pledge/", {"id": raw, "amount": "10"}),
        (sponsor, "post", "/admin/sponsor/pledges/withdraw/", {"id": raw}),
        (admin, "post", "/admin/street/", {"street_id": raw}),
        (admin, "post", "/admin/service_record/file/share/", {"file_id": raw}),
        (admin, "get", f"/files/{raw}", None),
    ]:
        if method == "get":
            response = client.get(url, query_string=data)
        else:
            response = client.post(url, data=data)
        assert response.status_code < 500, (url, raw, response.status_code)
        if "/new/" not in url:
            assert response.status_code in (302, 400, 404), (url, raw, response.status_code)


def test_bulk_action_with_hostile_ids_changes_nothing(app, login):
    before = db.session.scalar(select(db.func.count()).select_from(Household))
    response = login("district_admin").post(
        "/admin/household/action/", data={"action": "delete", "rowid": ["²", "99999999999"]}
    )
    assert response.status_code < 500
    assert db.session.scalar(select(db.func.count()).select_from(Household)) == before


@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS)
def test_hostile_amounts_are_refused_with_a_message(app, login, amount):
    sponsor_project = db.session.scalar(
        select(Project).where(Project.status == "open", Project.public_summary.is_not(None))
    )
    pledges_before = db.session.scalar(select(db.func.count()).select_from(Pledge))
    matches_before = db.session.scalar(select(db.func.count()).select_from(NeedMatch))
    cases = [
        (
            login("sponsor"),
            "/admin/sponsor/projects/pledge/",
            {"id": sponsor_project.id, "kind": "money", "amount": amount},
        ),
        (
            login("district_admin"),
            "/admin/ledger/donation/",
            {
                "amount": amount,
                "posted_on": "2026-11-01",
                "receipt_number": "R1",
                "donor_name": "张三",
            },
        ),
        (
            login("street_clerk"),
            "/admin/support_plan/new/",
            {"name": "测试", "monthly_amount": amount, "payee_person": "李四"},
        ),
    ]
    for client, url, data in cases:
        response = client.post(url, data=data, follow_redirects=True)
        assert response.status_code == 200, (url, amount, response.status_code)
    assert db.session.scalar(select(db.func.count()).select_from(Pledge)) == pledges_before
    assert db.session.scalar(select(db.func.count()).select_from(NeedMatch)) == matches_before


@pytest.mark.parametrize("field", ["pledge", "project", "donor_organisation"])
def test_a_garbage_choice_on_the_donation_form_posts_nothing(app, login, field):
    from app.models import LedgerEntry

    before = db.session.scalar(select(db.func.count()).select_from(LedgerEntry))
    data = {"amount": "10", "posted_on": "2026-11-01", "receipt_number": "R9", "donor_name": "张三"}
    response = login("district_admin").post(
        "/admin/ledger/donation/", data={**data, field: "abc"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert db.session.scalar(select(db.func.count()).select_from(LedgerEntry)) == before


def test_no_stored_file_lookup_overflows(shared_app, shared_login):
    assert db.session.scalar(select(StoredFile.id).order_by(StoredFile.id.desc())) is not None
    assert shared_login("district_admin").get("/files/2147483647").status_code == 404
