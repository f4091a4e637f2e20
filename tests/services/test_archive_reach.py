"""Archived records leave the places that offer records for use: the sponsors' portal
and its pledges, matching suggestions and the unmatched-needs report."""

import datetime as dt

import pytest
from flask_babel import force_locale

from app.extensions import db
from app.models import Pledge
from app.services import archive, matching, sponsorship
from app.services.matching import MatchRefused
from app.validation import InvalidValue
from tests.factories import (
    count,
    make_household,
    make_need,
    make_project,
    make_resource,
)

TODAY = dt.date(2026, 11, 1)


def _archived(record, world, reason="录入后停用"):
    archive.archive(record, world.admin, reason)
    return record


# ------------------------------------------------------------- sponsors
def test_an_archived_project_leaves_the_sponsor_portal(world, login):
    kept = make_project(world.community, name="仍开放的项目")
    gone = make_project(world.community, name="已归档的项目")
    db.session.commit()
    _archived(gone, world)
    client = login(world.sponsor)
    listed = client.get("/admin/sponsor/projects/").get_data(as_text=True)
    assert kept.name in listed and gone.name not in listed
    assert client.get(f"/admin/sponsor/projects/details/?id={gone.id}").status_code == 404
    response = client.post("/admin/sponsor/projects/pledge/", data={"id": gone.id, "amount": "10"})
    assert response.status_code == 404
    assert count(Pledge) == 0


def test_the_pledge_service_refuses_an_archived_project(world):
    organisation = world.sponsor.organisation
    project = make_project(world.community, sponsors=[organisation])
    db.session.commit()
    _archived(project, world)
    with force_locale("zh_Hans_CN"), pytest.raises(InvalidValue) as refused:
        sponsorship.pledge(project, organisation=organisation, user=world.sponsor, amount="50")
    assert "归档" in str(refused.value)
    db.session.expire_all()
    assert count(Pledge) == 0 and project.pledged_total == 0


def test_a_sponsor_who_supported_an_archived_project_gets_no_pledge_form(world, login):
    organisation = world.sponsor.organisation
    project = make_project(world.community, sponsors=[organisation])
    db.session.commit()
    _archived(project, world)
    client = login(world.sponsor)
    page = client.get(f"/admin/sponsor/projects/details/?id={project.id}")
    assert page.status_code == 200
    assert "/admin/sponsor/projects/pledge/" not in page.get_data(as_text=True)
    response = client.post(
        "/admin/sponsor/projects/pledge/",
        data={"id": project.id, "amount": "10"},
        follow_redirects=True,
    )
    assert "归档" in response.get_data(as_text=True)
    assert count(Pledge) == 0


# ------------------------------------------------------------- matching
def _need(world, **overrides):
    return make_need(
        make_household(world.community), identified_on=TODAY, description="每日送午餐", **overrides
    )


def test_archived_resources_are_not_suggested_nor_matched(world):
    need = _need(world)
    kept = make_resource(name="在用的午餐", served=[world.district])
    gone = make_resource(name="停用的午餐", served=[world.district])
    db.session.commit()
    _archived(gone, world)
    names = [s.item.name for s in matching.suggest_resources(need, world.admin, today=TODAY)]
    assert names == [kept.name]
    assert matching.suggest_needs(gone, world.admin, today=TODAY) == []
    with pytest.raises(MatchRefused):
        matching.accept_match(need, gone, user=world.admin, today=TODAY)
    db.session.rollback()
    assert need.matches == []


def test_archived_needs_and_households_are_not_suggested_nor_counted(world):
    resource = make_resource(served=[world.district])
    open_need = _need(world)
    archived_need = _need(world)
    of_archived_household = _need(world)
    db.session.commit()
    _archived(archived_need, world)
    _archived(of_archived_household.household, world)
    suggested = {s.item.id for s in matching.suggest_needs(resource, world.admin, today=TODAY)}
    assert suggested == {open_need.id}
    assert matching.suggest_resources(archived_need, world.admin, today=TODAY) == []
    rows, _by_street = matching.unmatched_needs_table(world.admin)
    total = sum(row_total for _area, _cells, row_total in rows)
    assert total == 1
    with pytest.raises(MatchRefused):
        matching.accept_match(archived_need, resource, user=world.admin, today=TODAY)


def test_a_need_whose_household_was_archived_directly_in_the_table_is_left_out(world):
    """The household's own mark decides even when a need escaped its archive (a need
    added by hand afterwards): suggestions and the report look at both."""
    resource = make_resource(served=[world.district])
    need = _need(world)
    need.household.archived_at = dt.datetime(2026, 10, 1)
    need.household.archive_reason = "迁出本区"
    db.session.commit()
    assert matching.suggest_needs(resource, world.admin, today=TODAY) == []
    rows, _ = matching.unmatched_needs_table(world.admin)
    assert sum(t for _a, _c, t in rows) == 0
