"""The one gate: sign-in, then the permission (403 saying who may do it), then the row's
scope (404), before any handler runs."""

from __future__ import annotations

import pytest

from app.access import Permission
from app.admin.gate import who_may
from app.extensions import db
from app.models import SupportPlan
from tests.factories import make_household, make_support_plan


@pytest.fixture
def month(world):
    plan = make_support_plan(make_household(world.community))
    month = plan.months[0]
    month.status = "evidence_uploaded"
    db.session.commit()
    return month


def test_signed_out_requests_go_to_the_login_page(app, world):
    response = app.test_client().get("/admin/support_plan/new/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_refusal_says_who_may_do_it(app, world, login):
    response = login(world.worker).get("/admin/support_plan/new/")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    with app.test_request_context():
        expected = who_may(Permission.WRITE, SupportPlan)  # the clerks and the admin
    assert "、" in expected and expected in html


def test_a_manager_may_read_a_month_but_not_pay_it(app, world, login, month):
    client = login(world.manager)
    assert client.get(f"/admin/plan_month/details/?id={month.id}").status_code == 200
    refused = client.post("/admin/plan_month/pay/", data={"id": month.id})
    assert refused.status_code == 403
    with app.test_request_context():
        assert who_may(Permission.PAY_PLAN_MONTH) in refused.get_data(as_text=True)


def test_a_row_outside_the_users_area_does_not_exist_for_them(app, world, login, month):
    response = login(world.far_clerk).post(
        "/admin/plan_month/check/", data={"id": month.id, "decision": "accept"}
    )
    assert response.status_code == 404
    db.session.refresh(month)
    assert month.status == "evidence_uploaded"


def test_the_same_request_in_scope_passes_the_gate(app, world, login, month):
    response = login(world.clerk).post(
        "/admin/plan_month/check/", data={"id": month.id, "decision": "return", "note": "缺菜单"}
    )
    assert response.status_code == 302
    db.session.refresh(month)
    assert (month.check_note, month.checked_by_id) == ("缺菜单", world.clerk.id)


def test_a_read_only_view_refuses_editing_for_everyone(app, world, login):
    response = login(world.admin).get("/admin/ledger/new/")
    assert response.status_code == 403
