"""The audit trail through the panel: every create and edit form writes its row as the
user who saved it; reveals, exports and logins are recorded; the details page's
变更记录 masks personal values and is read only within the record's scope; the 审计日志
page is the district's."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import AuditEvent, Household
from app.validation import mask_phone
from tests.admin.test_every_form_works import (
    VIEW_ENDPOINTS,
    fill_create_only_fields,
    made_new,
    read_form,
    situation,
)
from tests.factories import PASSWORD, make_household


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def events(**where):
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    db.session.expire_all()
    return list(db.session.scalars(stmt))


# ------------------------------------------------------- every way in
@pytest.mark.parametrize("endpoint", VIEW_ENDPOINTS)
def test_each_create_form_writes_its_audit_row(app, world, login, endpoint):
    view, template, client = situation(app, world, login, endpoint, "district_admin", "create")
    edit_page = client.get(f"/admin/{endpoint}/edit/?id={template.id}")
    known = dict(read_form(edit_page.get_data(as_text=True)).fields)
    blank = read_form(client.get(f"/admin/{endpoint}/new/").get_data(as_text=True))
    fields = [(name, known.get(name, value)) for name, value in blank.fields]
    fields = made_new(view.model, fill_create_only_fields(template, fields))
    before = {e.id for e in events(action="create", record_type=view.model.__tablename__)}
    response = client.post(f"/admin/{endpoint}/new/", data=MultiDict(fields))
    assert response.status_code == 302
    created = [
        e
        for e in events(action="create", record_type=view.model.__tablename__)
        if e.id not in before
    ]
    assert created, f"no audit row for a new {view.model.__name__}"
    assert {(e.user_id, e.user_role) for e in created} == {(world.admin.id, "district_admin")}
    assert created[0].source == f"/admin/{endpoint}/new/" and created[0].request_id


@pytest.mark.parametrize("endpoint", VIEW_ENDPOINTS)
def test_each_edit_form_writes_its_audit_row(app, world, login, endpoint):
    view, record, client = situation(app, world, login, endpoint, "district_admin", "edit")
    page = client.get(f"/admin/{endpoint}/edit/?id={record.id}")
    fields = read_form(page.get_data(as_text=True)).fields
    # change one free-text field a person would type in
    text_fields = [
        name
        for name, _value in fields
        if name in ("notes", "description", "address", "name", "full_name", "purpose")
    ]
    if not text_fields:
        pytest.skip("no free-text field to change")
    changed = text_fields[0]
    fields = [(k, (v + "改") if k == changed else v) for k, v in fields]
    response = client.post(f"/admin/{endpoint}/edit/?id={record.id}", data=MultiDict(fields))
    assert response.status_code == 302
    rows = events(action="update", record_type=view.model.__tablename__, record_id=record.id)
    assert rows, f"no audit row for an edit of {view.model.__name__}"
    assert changed in rows[-1].changes
    assert rows[-1].changes[changed][1].endswith("改")
    assert rows[-1].user_id == world.admin.id


def test_an_inline_edit_writes_its_audit_row(world, login):
    from tests.factories import make_need

    need = make_need(make_household(world.community))
    client = login(world.clerk)
    page = client.get("/admin/need/")
    token = csrf_token(page.get_data(as_text=True))
    response = client.post(
        "/admin/need/ajax/update/",
        data={"list_form_pk": need.id, "status": "in_progress", "csrf_token": token},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (row,) = events(action="update", record_type="needs", record_id=need.id)
    assert row.changes["status"][1] == "in_progress" and row.user_id == world.clerk.id


# ------------------------------------------------------- logins
def test_logins_and_failed_logins_are_recorded(app, world, login):
    client = app.test_client()
    client.post("/login", data={"username": world.clerk.username, "password": "wrong"})
    client.post("/login", data={"username": "nobody-here", "password": "wrong"})
    login(world.clerk)
    failed = events(action="login_failed")
    assert [e.record_id for e in failed] == [world.clerk.id, None]
    assert failed[0].detail["reason"] == "wrong password"
    assert "nobody-here" not in str(failed[1].detail)
    assert PASSWORD not in str([e.detail for e in failed])
    (ok,) = events(action="login")
    assert ok.user_id == world.clerk.id and ok.ip


# ------------------------------------------------------- reveal
def test_details_mask_until_reveal_and_the_reveal_is_recorded(world, login):
    household = make_household(world.community, head_phone="13912345678")
    client = login(world.clerk)
    page = client.get(f"/admin/household/details/?id={household.id}").get_data(as_text=True)
    assert "13912345678" not in page and household.head_id_number not in page
    assert mask_phone("13912345678") in page and "/admin/household/reveal/" in page
    token = csrf_token(page)
    answer = client.post(
        f"/admin/household/reveal/?id={household.id}",
        data={"field": "head_phone", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert answer.get_json() == {"value": "13912345678"}
    # without JavaScript: the details page again, that field shown
    again = client.post(
        f"/admin/household/reveal/?id={household.id}",
        data={"field": "head_id_number", "csrf_token": token},
    ).get_data(as_text=True)
    assert household.head_id_number in again and "13912345678" not in again
    reveals = events(action="reveal", record_id=household.id)
    assert [(e.user_id, e.detail["field"]) for e in reveals] == [
        (world.clerk.id, "head_phone"),
        (world.clerk.id, "head_id_number"),
    ]


def test_who_may_not_see_cannot_reveal(world, login):
    household = make_household(world.community, head_phone="13912345678")
    for user in (world.manager, world.far_clerk):
        client = login(user)
        page = client.get("/admin/household/").get_data(as_text=True)
        token = csrf_token(page)
        answer = client.post(
            f"/admin/household/reveal/?id={household.id}",
            data={"field": "head_phone", "csrf_token": token},
        )
        assert answer.status_code in (403, 404)
        assert "13912345678" not in answer.get_data(as_text=True)
    assert not events(action="reveal")


# ------------------------------------------------------- export
def test_an_export_is_recorded_with_its_filters_and_rows(world, login):
    make_household(world.community)
    make_household(world.community)
    client = login(world.clerk)
    response = client.get(f"/admin/household/export/csv/?flt0_0={world.street.id}")
    assert response.status_code == 200
    response.get_data()
    (row,) = events(action="export")
    assert row.user_id == world.clerk.id and row.record_type == "households"
    assert row.detail["rows"] == 2 and row.detail["view"] == "household"
    assert row.detail["filters"] and row.detail["filters"][0][1] == str(world.street.id)


# ------------------------------------------------------- history
def test_history_shows_changes_masked(world, login):
    household = make_household(world.community, head_phone="13912345678")
    db.session.commit()
    household.head_phone = "13800001111"
    household.address = "幸福路8号"
    db.session.commit()
    page = (
        login(world.clerk)
        .get(f"/admin/household/details/?id={household.id}")
        .get_data(as_text=True)
    )
    history = page.split('class="yijia-history"')[1]
    assert "幸福路8号" in history
    assert mask_phone("13912345678") in history and mask_phone("13800001111") in history
    assert "13800001111" not in page and "13912345678" not in page


def test_a_clerk_cannot_read_the_trail_of_another_streets_records(world, login):
    household = make_household(world.far_community)
    client = login(world.clerk)
    assert client.get(f"/admin/household/details/?id={household.id}").status_code == 404
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export/csv/").status_code == 403


# ------------------------------------------------------- the audit log
@pytest.mark.parametrize("role", ["district_admin", "district_manager"])
def test_the_district_reads_and_exports_the_audit_log(world, login, role):
    household = make_household(world.community, head_phone="13912345678")
    db.session.commit()
    client = login(world.user(role))
    page = client.get("/admin/audit/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "13912345678" not in body and household.head_id_number not in body
    # filters: action, record type, a user's day
    view = next(
        v for v in client.application.extensions["admin"][0]._views if v.endpoint == "audit"
    )
    action_index = next(i for i, f in enumerate(view._filters) if "action" in str(f.column))
    narrowed = client.get(f"/admin/audit/?flt0_{action_index}=login").get_data(as_text=True)
    assert narrowed.count("yijia") >= 0 and page.status_code == 200
    with client.application.test_request_context():
        from flask_login import login_user

        login_user(world.admin)
        day_link = view.day_url(world.admin.id, events()[0].occurred_at.date())
    assert client.get(day_link).status_code == 200
    export = client.get("/admin/audit/export/csv/")
    assert export.status_code == 200
    csv_text = export.get_data(as_text=True)
    assert "households" in csv_text and "13912345678" not in csv_text
    assert client.get("/admin/audit/edit/?id=1").status_code in (403, 404)
    assert client.post("/admin/audit/delete/", data={"id": 1}).status_code in (403, 404)


def test_the_audit_log_filters_by_user_and_day(world, login):
    household = make_household(world.community)
    db.session.commit()
    clerk = login(world.clerk)
    page = clerk.get(f"/admin/household/edit/?id={household.id}").get_data(as_text=True)
    fields = read_form(page).fields
    fields = [(k, "审计路1号" if k == "address" else v) for k, v in fields]
    assert (
        clerk.post(f"/admin/household/edit/?id={household.id}", data=MultiDict(fields)).status_code
        == 302
    )
    (row,) = events(action="update", record_type="households")
    admin = login(world.admin)
    view = next(v for v in admin.application.extensions["admin"][0]._views if v.endpoint == "audit")
    with admin.application.test_request_context():
        link = view.day_url(world.clerk.id, row.occurred_at.date())
    listed = admin.get(link).get_data(as_text=True)
    assert "审计路1号" in listed
    other = view_day_of(admin, view, world.worker.id, row.occurred_at.date())
    assert "审计路1号" not in other


def view_day_of(client, view, user_id, day):
    with client.application.test_request_context():
        return client.get(view.day_url(user_id, day)).get_data(as_text=True)


def test_the_household_list_has_no_history_leak(world, login):
    """The list pages are unchanged: no history, no reveal buttons."""
    make_household(world.community)
    page = login(world.clerk).get("/admin/household/").get_data(as_text=True)
    assert "yijia-history" not in page and "/reveal/" not in page
    assert Household  # imported for the model's name in failures


# ------------------------------------------------------- members' ID numbers
@pytest.mark.parametrize("page", ["details", "story"])
def test_members_id_numbers_are_masked_until_revealed(world, login, page):
    from app.validation import mask_id_number
    from tests.factories import make_member

    household = make_household(world.community)
    member = make_member(household, name="李成员")
    db.session.commit()
    client = login(world.clerk)
    body = client.get(f"/admin/household/{page}/?id={household.id}").get_data(as_text=True)
    assert member.id_number not in body and household.head_id_number not in body
    assert mask_id_number(member.id_number) in body and "李成员" in body
    assert f"/admin/member/reveal/?id={member.id}" in body
    answer = client.post(
        f"/admin/member/reveal/?id={member.id}",
        data={"field": "id_number", "csrf_token": csrf_token(body)},
        headers={"Accept": "application/json"},
    )
    assert answer.get_json() == {"value": member.id_number}
    (row,) = events(action="reveal")
    assert (row.record_type, row.record_id, row.user_id, row.detail) == (
        "household_members",
        member.id,
        world.clerk.id,
        {"field": "id_number"},
    )


@pytest.mark.parametrize("page", ["details", "story"])
def test_a_manager_sees_members_masked_and_cannot_reveal_them(world, login, page):
    from app.validation import mask_id_number
    from tests.factories import make_member

    household = make_household(world.community)
    member = make_member(household)
    db.session.commit()
    client = login(world.manager)
    body = client.get(f"/admin/household/{page}/?id={household.id}").get_data(as_text=True)
    assert mask_id_number(member.id_number) in body and member.id_number not in body
    assert "/admin/member/reveal/" not in body
    answer = client.post(
        f"/admin/member/reveal/?id={member.id}",
        data={"field": "id_number", "csrf_token": csrf_token(body)},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code in (403, 404)
    assert member.id_number not in answer.get_data(as_text=True)
    assert not events(action="reveal")


def test_the_audit_log_pages_without_counting_the_trail(world, login):
    """At ten million rows a COUNT(*) of the trail is seconds: the list's pager asks
    only for the page (and whether there is a next one), in every filter."""
    from tests.factories import count_queries

    make_household(world.community)
    db.session.commit()
    client = login(world.admin)
    view = next(
        v for v in client.application.extensions["admin"][0]._views if v.endpoint == "audit"
    )
    action = next(i for i, f in enumerate(view._filters) if "action" in str(f.column))
    for path in ("/admin/audit/", f"/admin/audit/?flt0_{action}=create", "/admin/audit/?page=1"):
        with count_queries() as statements:
            assert client.get(path).status_code == 200
        on_trail = [s for s in statements if "audit_events" in s]
        assert on_trail, path
        assert not [s for s in on_trail if "count(" in s.lower()], on_trail
