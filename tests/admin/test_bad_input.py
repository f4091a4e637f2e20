"""Bad input gets a clear Chinese message on the form, and nothing is saved."""

import pytest

from app.models import Household, Need, Project
from tests.factories import (
    count,
    make_community,
    make_household,
    make_street,
    make_user,
)

GOOD = {
    "head_name": "新户主",
    "head_id_number": "11010519491231002X",
    "head_phone": "13812345678",
    "address": "测试社区1栋",
    "intake_channel": "self_request",
    "status": "registered",
    "intake_date": "2026-01-05",
    "monthly_income": "800",
}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("head_id_number", "110105194912310021", "校验"),
        ("head_id_number", "12345", "身份证"),
        ("head_phone", "12345", "手机"),
        ("monthly_income", "-5", "负"),
        ("intake_date", "2999-01-01", "晚于今天"),
    ],
)
def test_invalid_household_fields_are_refused_in_chinese(app, login, field, value, message):
    street = make_street()
    community = make_community(street)
    client = login(make_user("street_clerk", area=street))
    response = client.post(
        "/admin/household/new/", data={**GOOD, "community": community.id, field: value}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in body, f"no Chinese message about {field}"
    assert count(Household) == 0


def test_duplicate_head_of_household_is_refused(app, login):
    existing = make_household()
    client = login(make_user("district_admin"))
    response = client.post(
        "/admin/household/new/",
        data={
            **GOOD,
            "head_id_number": existing.head_id_number,
            "community": existing.community_id,
        },
    )
    # "already exists" beside the ID number (the status drop-down, whose "已登记"
    # this once matched, is no longer on the form)
    assert "已经存在" in response.get_data(as_text=True)
    assert count(Household) == 1


def test_unknown_community_is_refused(app, login):
    make_community()
    client = login(make_user("district_admin"))
    response = client.post("/admin/household/new/", data={**GOOD, "community": 999999})
    assert response.status_code == 200
    assert count(Household) == 0


def test_negative_budget_is_refused(app, login):
    street = make_street()
    community = make_community(street)
    client = login(make_user("street_clerk", area=street))
    response = client.post(
        "/admin/project/new/",
        data={
            "name": "负预算",
            "level": "community",
            "help_kind": "service",
            "budget": "-1",
            "status": "draft",
            "street": street.id,
            "community": community.id,
        },
    )
    assert "负" in response.get_data(as_text=True)
    assert count(Project) == 0


def test_future_need_date_is_refused(app, login):
    community = make_community()
    household = make_household(community)
    client = login(make_user("community_worker", area=community))
    response = client.post(
        "/admin/need/new/",
        data={
            "household": household.id,
            "dimension": "social",
            "category": "policy",
            "description": "x",
            "urgency": "normal",
            "status": "open",
            "identified_on": "2999-01-01",
        },
    )
    assert "晚于今天" in response.get_data(as_text=True)
    assert count(Need) == 0


def test_hostile_text_is_stored_and_shown_escaped(app, login):
    community = make_community()
    client = login(make_user("community_worker", area=community))
    hostile = "<script>alert(1)</script>' OR 1=1 --"
    response = client.post(
        "/admin/household/new/", data={**GOOD, "community": community.id, "head_name": hostile[:40]}
    )
    assert response.status_code == 302
    assert count(Household) == 1
    page = client.get("/admin/household/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
