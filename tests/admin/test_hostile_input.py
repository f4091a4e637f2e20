"""Hostile values in ids and amounts get a 404 or a clear message, never a 500."""

import pytest

from app.extensions import db
from app.models import Household, LedgerEntry, NeedMatch, Pledge, StoredFile
from app.services import files
from tests.factories import (
    count,
    jpeg,
    make_household,
    make_project,
    make_service_record,
)

HOSTILE_IDS = ["²", "٣", "99999999999999999999999", "2147483648", "-1", "1e3", "0x1"]
HOSTILE_AMOUNTS = ["1e30", "1E+100", "9" * 40, "NaN", "-Infinity", "12.345", "一百"]


@pytest.fixture(scope="module")
def stored_file(shared_world):
    record = make_service_record(make_household(shared_world.community))
    (row,) = files.attach_files([("a.jpg", jpeg())], service_record=record)
    db.session.commit()
    return row


@pytest.mark.parametrize("raw", HOSTILE_IDS)
def test_hostile_ids_are_not_found(shared_world, shared_login, raw):
    admin, sponsor = shared_login(shared_world.admin), shared_login(shared_world.sponsor)
    worker = shared_login(shared_world.worker)
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


def test_bulk_action_with_hostile_ids_changes_nothing(world, login):
    make_household(world.community)
    response = login(world.admin).post(
        "/admin/household/action/", data={"action": "delete", "rowid": ["²", "99999999999"]}
    )
    assert response.status_code < 500
    assert count(Household) == 1


@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS)
def test_hostile_amounts_are_refused_with_a_message(world, login, amount):
    project = make_project(world.community)
    cases = [
        (
            login(world.sponsor),
            "/admin/sponsor/projects/pledge/",
            {"id": project.id, "kind": "money", "amount": amount},
        ),
        (
            login(world.admin),
            "/admin/ledger/donation/",
            {
                "amount": amount,
                "posted_on": "2026-11-01",
                "receipt_number": "R1",
                "donor_name": "张三",
            },
        ),
        (
            login(world.clerk),
            "/admin/support_plan/new/",
            {"name": "测试", "monthly_amount": amount, "payee_person": "李四"},
        ),
    ]
    for client, url, data in cases:
        response = client.post(url, data=data, follow_redirects=True)
        assert response.status_code == 200, (url, amount, response.status_code)
    assert count(Pledge) == 0
    assert count(LedgerEntry) == 0
    assert count(NeedMatch) == 0


@pytest.mark.parametrize("field", ["pledge", "project", "donor_organisation"])
def test_a_garbage_choice_on_the_donation_form_posts_nothing(world, login, field):
    data = {"amount": "10", "posted_on": "2026-11-01", "receipt_number": "R9", "donor_name": "张三"}
    response = login(world.admin).post(
        "/admin/ledger/donation/", data={**data, field: "abc"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert count(LedgerEntry) == 0


def test_no_stored_file_lookup_overflows(shared_world, stored_file, shared_login):
    assert count(StoredFile) == 1
    assert shared_login(shared_world.admin).get("/files/2147483647").status_code == 404
    assert shared_login(shared_world.admin).get(f"/files/{stored_file.id}").status_code == 200
