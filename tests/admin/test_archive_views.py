"""The panel's archive: 归档 with a reason on the details page, the bulk archive action,
delete only for the district admin and only without history, archived rows out of
lists and drop-downs but their page still open, 恢复 for the admin."""

import pytest

from app.extensions import db
from app.models import Household, Need, Organisation
from tests.factories import (
    count,
    make_assessment,
    make_household,
    make_need,
    make_organisation,
    make_support_plan,
)

ROLES = ["district_admin", "district_manager", "street_clerk", "community_worker", "sponsor"]


def _visited_household(world, **kwargs):
    household = make_household(world.community, **kwargs)
    make_assessment(household)
    db.session.commit()
    return household


def _reload(model, pk):
    db.session.expire_all()
    return db.session.get(model, pk)


def test_the_details_page_offers_archive_with_a_reason_to_writers_only(world, login):
    household = _visited_household(world)
    page = login(world.worker).get(f"/admin/household/details/?id={household.id}")
    html = page.get_data(as_text=True)
    assert 'id="archive-button"' in html and 'name="reason"' in html
    assert 'id="restore-button"' not in html
    html = (
        login(world.manager)
        .get(f"/admin/household/details/?id={household.id}")
        .get_data(as_text=True)
    )
    assert 'id="archive-box"' in html and 'id="archive-button"' not in html


def test_archive_without_a_reason_is_refused(world, login):
    household = _visited_household(world)
    client = login(world.worker)
    response = client.post("/admin/household/archive/", data={"id": household.id, "reason": " "})
    assert response.status_code == 302
    assert not _reload(Household, household.id).is_archived
    assert "归档原因" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_archived_rows_leave_the_list_but_their_page_opens_in_scope(world, login):
    household = _visited_household(world, head_name="归档户")
    client = login(world.worker)
    response = client.post(
        "/admin/household/archive/", data={"id": household.id, "reason": "搬离本区"}
    )
    assert response.status_code == 302
    assert _reload(Household, household.id).archive_reason == "搬离本区"

    for who in (world.worker, world.clerk, world.admin, world.manager):
        c = login(who)
        assert "归档户" not in c.get("/admin/household/").get_data(as_text=True)
        details = c.get(f"/admin/household/details/?id={household.id}")
        assert details.status_code == 200
        assert "搬离本区" in details.get_data(as_text=True)
    # out of scope it does not exist, archived or not
    assert (
        login(world.far_clerk).get(f"/admin/household/details/?id={household.id}").status_code
        == 404
    )


def test_the_archived_filter_brings_them_back(world, login):
    household = _visited_household(world, head_name="归档户")
    make_household(world.community, head_name="在用户")
    db.session.commit()
    client = login(world.admin)
    client.post("/admin/household/archive/", data={"id": household.id, "reason": "搬离"})
    page = client.get("/admin/household/").get_data(as_text=True)
    assert "在用户" in page and "归档户" not in page
    view = next(
        v for v in client.application.extensions["admin"][0]._views if v.endpoint == "household"
    )
    with client.application.test_request_context("/admin/household/"):
        index = next(i for i, f in enumerate(view._filters) if type(f).__name__ == "ArchivedFilter")
        arg = view.get_filter_arg(index, view._filters[index])
    shown = client.get(f"/admin/household/?flt1_{arg}=include").get_data(as_text=True)
    assert "在用户" in shown and "归档户" in shown
    only = client.get(f"/admin/household/?flt1_{arg}=only").get_data(as_text=True)
    assert "在用户" not in only and "归档户" in only


def test_an_archived_organisation_leaves_drop_downs_but_still_shows_where_it_is_used(world, login):
    gone = make_organisation("hospital", name="已撤销医院", street=world.street)
    household = _visited_household(
        world, intake_channel="hospital_referral", referrer_organisation=gone
    )
    db.session.commit()
    client = login(world.clerk)
    client.post("/admin/organisation/archive/", data={"id": gone.id, "reason": "已撤销"})
    assert _reload(Organisation, gone.id).is_archived
    new_form = client.get("/admin/household/new/").get_data(as_text=True)
    assert "已撤销医院" not in new_form
    edit_form = client.get(f"/admin/household/edit/?id={household.id}").get_data(as_text=True)
    assert "已撤销医院" in edit_form


@pytest.mark.parametrize("role", ROLES)
def test_a_record_with_history_cannot_be_deleted_single_or_bulk_by_any_role(world, login, role):
    household = _visited_household(world)
    client = login(world.user(role))
    assert client.post("/admin/household/delete/", data={"id": household.id}).status_code in (
        302,
        403,
    )
    response = client.post(
        "/admin/household/action/", data={"action": "delete", "rowid": [household.id]}
    )
    assert response.status_code in (302, 403)
    db.session.expire_all()
    assert count(Household) == 1


def test_a_record_without_history_is_deleted_by_the_admin_only(world, login):
    mistake = make_need(make_household(world.community))
    mistake_id = mistake.id
    db.session.commit()
    for who in (world.clerk, world.worker):
        assert login(who).post("/admin/need/delete/", data={"id": mistake_id}).status_code == 403
    assert count(Need) == 1
    response = login(world.admin).post("/admin/need/delete/", data={"id": mistake_id})
    assert response.status_code == 302
    db.session.expire_all()
    assert count(Need) == 0


def test_only_the_admin_sees_delete_others_see_archive(world, login):
    _visited_household(world)
    worker_page = login(world.worker).get("/admin/household/").get_data(as_text=True)
    assert 'data-model-action="archive"' in worker_page
    assert 'data-model-action="delete"' not in worker_page
    assert "/admin/household/delete/" not in worker_page
    admin_page = login(world.admin).get("/admin/household/").get_data(as_text=True)
    assert 'data-model-action="archive"' in admin_page


def test_bulk_archive_asks_a_reason_and_stays_in_scope(world, login):
    mine = _visited_household(world)
    theirs = _visited_household(world)
    theirs.community = world.far_community
    db.session.commit()
    client = login(world.worker)
    data = {"action": "archive", "rowid": [mine.id, theirs.id]}
    assert client.post("/admin/household/action/", data=data).status_code == 302
    assert not _reload(Household, mine.id).is_archived  # no reason
    data["reason"] = "批量整理"
    assert client.post("/admin/household/action/", data=data).status_code == 302
    assert _reload(Household, mine.id).archive_reason == "批量整理"
    assert not _reload(Household, theirs.id).is_archived


def test_restore_is_the_district_admins(world, login):
    household = _visited_household(world)
    login(world.clerk).post(
        "/admin/household/archive/", data={"id": household.id, "reason": "重复登记"}
    )
    page = login(world.clerk).get(f"/admin/household/details/?id={household.id}")
    assert 'id="restore-button"' not in page.get_data(as_text=True)
    for who in (world.clerk, world.worker, world.manager):
        response = login(who).post("/admin/household/restore/", data={"id": household.id})
        assert response.status_code == 403
    assert _reload(Household, household.id).is_archived
    admin = login(world.admin)
    page = admin.get(f"/admin/household/details/?id={household.id}").get_data(as_text=True)
    assert 'id="restore-button"' in page
    assert admin.post("/admin/household/restore/", data={"id": household.id}).status_code == 302
    assert not _reload(Household, household.id).is_archived


def test_an_archived_record_is_not_edited(world, login):
    household = _visited_household(world, head_name="原名")
    client = login(world.admin)
    client.post("/admin/household/archive/", data={"id": household.id, "reason": "搬离"})
    client.post(f"/admin/household/edit/?id={household.id}", data={"head_name": "新名"})
    assert _reload(Household, household.id).head_name == "原名"


def test_a_household_with_an_active_support_plan_is_refused_naming_it(world, login):
    household = make_household(world.community)
    make_support_plan(household, name="好邻居助餐计划")
    db.session.commit()
    client = login(world.clerk)
    response = client.post(
        "/admin/household/archive/",
        data={"id": household.id, "reason": "搬离"},
        follow_redirects=True,
    )
    assert "好邻居助餐计划" in response.get_data(as_text=True)
    assert not _reload(Household, household.id).is_archived
