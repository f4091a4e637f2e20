"""A member taken off the household's form (the inline row's delete box) follows the
archive rule: deleted only as a mistake by the district admin, otherwise archived with
the reason written under the rows, or refused saying so — through the panel."""

import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import AuditEvent, Member
from tests.admin.test_every_form_works import read_form
from tests.factories import make_assessment, make_household, make_member


def _household(world, *, history: bool):
    household = make_household(world.community)
    member = make_member(household, name="王成员")
    if history:
        make_assessment(household)
    db.session.commit()
    return household, member


def _member_row_ids(page: str) -> list[str]:
    return [v for k, v in read_form(page).fields if re.fullmatch(r"members-\d+-id", k)]


def _remove(client, household, member, reason=""):
    """Post the edit form back with the member's row ticked for deletion."""
    page = client.get(f"/admin/household/edit/?id={household.id}").get_data(as_text=True)
    assert str(member.id) in _member_row_ids(page)
    fields = read_form(page).fields
    row = next(k for k, v in fields if k.endswith("-id") and v == str(member.id))
    prefix = row.removesuffix("-id")
    fields = [(k, reason if k == "member_removal_reason" else v) for k, v in fields]
    assert any(k == "member_removal_reason" for k, _v in fields), "no reason field on the form"
    fields.append((f"del-{prefix}", "on"))
    return client.post(
        f"/admin/household/edit/?id={household.id}", data=MultiDict(fields), follow_redirects=True
    )


def errors_on(html: str) -> list[str]:
    """The page's error messages (flashed and on fields), as plain text."""
    found = re.findall(
        r'<div class="[^"]*(?:alert-danger|invalid-feedback)[^"]*"[^>]*>(.*?)</div>', html, re.S
    )
    return [re.sub(r"<[^>]+>|&times;|\s+", " ", f).strip() for f in found]


def _member(member_id):
    db.session.expire_all()
    return db.session.get(Member, member_id)


def _events(member_id):
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.record_type == "household_members", AuditEvent.record_id == member_id
            )
        )
    )


@pytest.mark.parametrize("role", ["street_clerk", "district_admin"])
def test_a_member_with_history_is_not_deleted_without_a_reason(world, login, role):
    household, member = _household(world, history=True)
    response = _remove(login(world.user(role)), household, member)
    body = response.get_data(as_text=True)
    assert any("王成员" in e and "归档" in e for e in errors_on(body)), errors_on(body)
    kept = _member(member.id)
    assert kept is not None and not kept.is_archived
    assert _events(member.id) == ["create"]


@pytest.mark.parametrize("role", ["street_clerk", "community_worker", "district_admin"])
def test_a_member_with_history_is_archived_with_the_reason(world, login, role):
    household, member = _household(world, history=True)
    client = login(world.user(role))
    response = _remove(client, household, member, reason="已迁出本户")
    body = response.get_data(as_text=True)
    assert not errors_on(body) and "王成员" in body
    archived = _member(member.id)
    assert archived is not None and archived.is_archived
    assert archived.archive_reason == "已迁出本户"
    assert archived.archived_by_id == world.user(role).id
    assert _events(member.id) == ["create", "archive"]
    # no longer on the form (not edited there), still on the household's page
    edit = client.get(f"/admin/household/edit/?id={household.id}").get_data(as_text=True)
    assert not _member_row_ids(edit)
    details = client.get(f"/admin/household/details/?id={household.id}").get_data(as_text=True)
    assert "王成员" in details and "已归档" in details


def test_a_member_without_history_is_deleted_by_the_district_admin(world, login):
    household, member = _household(world, history=False)
    member_id = member.id
    response = _remove(login(world.admin), household, member)
    assert not errors_on(response.get_data(as_text=True))
    assert _member(member_id) is None
    assert _events(member_id) == ["create", "delete"]


def test_a_clerk_archives_a_member_without_history_with_a_reason_or_not_at_all(world, login):
    household, member = _household(world, history=False)
    client = login(world.clerk)
    refused = _remove(client, household, member).get_data(as_text=True)
    assert any("区级管理员" in e or "管理员" in e for e in errors_on(refused)), errors_on(refused)
    assert not _member(member.id).is_archived
    _remove(client, household, member, reason="录入错误")
    assert _member(member.id).is_archived and _events(member.id) == ["create", "archive"]


def test_saving_the_form_unchanged_keeps_archived_members_as_they_are(world, login):
    household, member = _household(world, history=True)
    other = make_member(household, name="赵成员")
    db.session.commit()
    client = login(world.clerk)
    _remove(client, household, member, reason="已迁出本户")
    page = client.get(f"/admin/household/edit/?id={household.id}").get_data(as_text=True)
    response = client.post(
        f"/admin/household/edit/?id={household.id}", data=MultiDict(read_form(page).fields)
    )
    assert response.status_code == 302
    assert _member(member.id).is_archived and not _member(other.id).is_archived
    assert _events(member.id) == ["create", "archive"]
