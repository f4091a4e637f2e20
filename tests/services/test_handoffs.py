"""Hand-offs between roles: each role's 待办 lists what waits on *them*."""

from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.services import todo
from tests.factories import (
    make_household,
    make_match,
    make_need,
    make_organisation,
    make_pledge,
    make_project,
    make_resource,
    make_support_plan,
)

TODAY = dt.date(2026, 11, 20)


def kinds_for(user) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for item in todo.todo_items(user, today=TODAY):
        found.setdefault(item.kind, []).append(item.url_args.get("id"))
    return found


def test_a_month_with_evidence_waits_on_the_clerk_not_the_worker(app, world):
    plan = make_support_plan(make_household(world.community))
    month = plan.months[0]
    month.status = "evidence_uploaded"
    db.session.commit()
    assert month.id in kinds_for(world.clerk).get("plan_month_check", [])
    assert month.id in kinds_for(world.admin).get("plan_month_check", [])
    assert "plan_month_check" not in kinds_for(world.worker)
    assert "plan_month_check" not in kinds_for(world.far_clerk)
    assert "plan_month_check" not in kinds_for(world.manager)  # reads, decides nothing


def test_a_checked_month_waits_on_the_district_admin_to_pay(app, world):
    plan = make_support_plan(make_household(world.community))
    month = plan.months[0]
    month.status, month.is_evidence_accepted = "checked", True
    month.checked_at = dt.datetime(2026, 11, 1, 9, 0)
    db.session.commit()
    (item,) = [i for i in todo.todo_items(world.admin, today=TODAY) if i.kind == "plan_month_pay"]
    assert item.url_args == {"id": month.id}
    assert item.due_on == dt.date(2026, 11, 8) and item.is_overdue and item.days_overdue == 12
    assert "plan_month_pay" not in kinds_for(world.clerk)


def test_a_pending_pledge_waits_on_the_clerk_of_its_street(app, world):
    project = make_project(world.community)
    pledge = make_pledge(project, make_organisation())
    decided = make_pledge(project, make_organisation(), status="approved")
    db.session.commit()
    assert kinds_for(world.clerk)["pledge_decision"] == [pledge.id]
    assert decided.id not in kinds_for(world.admin)["pledge_decision"]
    assert "pledge_decision" not in kinds_for(world.far_clerk)
    assert "pledge_decision" not in kinds_for(world.worker)
    assert todo.todo_items(world.sponsor, today=TODAY) == []


def test_the_story_links_each_need_to_its_matching(app, world, login):
    household = make_household(world.community)
    open_need = make_need(household)
    db.session.commit()
    page = login(world.worker).get(f"/admin/household/story/?id={household.id}")
    assert f"/admin/need_match/suggest/?need_id={open_need.id}" in page.get_data(as_text=True)


def test_the_suggestions_say_what_was_accepted(app, world, login):
    need = make_need(make_household(world.community), category="meals")
    taken = make_resource(community=world.community, category="meals")
    other = make_resource(community=world.community, category="meals")
    make_match(need, taken)
    db.session.commit()
    page = login(world.worker).get(f"/admin/need_match/suggest/?need_id={need.id}")
    html = page.get_data(as_text=True)
    assert 'id="matched-notice"' in html and taken.name in html
    notice = html.split('id="matched-notice"')[1].split("</div>")[0]
    assert taken.name in notice
    # the accepted resource is not offered again; the others are offered as "also"
    assert f'data-resource-id="{taken.id}"' not in html
    other_row = html.split(f'data-resource-id="{other.id}"')[1].split("</tr>")[0]
    assert "/admin/need_match/accept/" in other_row and "btn-outline-primary" in other_row
