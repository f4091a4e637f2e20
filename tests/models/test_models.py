"""Model rules that hold whoever saves: derived areas, consistency, tracking."""

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Household, Need, User
from app.validation import InvalidValue
from tests.factories import (
    make_community,
    make_household,
    make_member,
    make_need,
    make_project,
    make_street,
    make_user,
)


def test_household_street_follows_its_community(app):
    household = make_household()
    make_need(household)
    make_need(household)
    make_member(household)
    target = make_community()  # in another street
    household.community = target
    db.session.commit()
    assert household.street_id == target.parent_id
    assert len(household.needs) == 2 and len(household.members) == 1
    for need in household.needs:
        assert (need.street_id, need.community_id) == (target.parent_id, target.id)
    for member in household.members:
        assert member.community_id == target.id


def test_gender_and_birth_date_are_derived_from_the_head_id(app):
    household = Household(
        head_name="测试",
        head_id_number="11010519491231002X",
        address="x",
        intake_channel="self_request",
        community=make_community(),
    )
    db.session.add(household)
    db.session.commit()
    assert household.head_gender == "female"
    assert household.head_birth_date == dt.date(1949, 12, 31)


def test_household_needs_a_community_not_a_street(app):
    street = make_street()
    household = Household(
        head_name="测试",
        head_id_number="11010519491231002X",
        address="x",
        intake_channel="self_request",
        community=street,
    )
    db.session.add(household)
    with pytest.raises(InvalidValue):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(Household).where(Household.head_name == "测试")) is None


def test_invalid_id_number_on_the_model_is_refused(app):
    with pytest.raises(InvalidValue):
        Household(head_id_number="110105194912310021")


def test_future_need_date_is_refused(app):
    with pytest.raises(InvalidValue):
        Need(identified_on=dt.date.today() + dt.timedelta(days=1))


def test_beneficiaries_must_live_in_the_project_area(app):
    project = make_project(beneficiaries=[make_household()])
    elsewhere = make_household()  # in another street
    project.beneficiaries.append(elsewhere)
    with pytest.raises(InvalidValue):
        db.session.flush()
    db.session.rollback()


def test_role_and_area_level_must_match(app):
    user = User(
        username="x", full_name="x", role="street_clerk", area=make_community(), password_hash="x"
    )
    db.session.add(user)
    with pytest.raises(InvalidValue):
        db.session.flush()
    db.session.rollback()


def test_sponsor_belongs_to_an_enterprise(app):
    user = User(username="x", full_name="x", role="sponsor", password_hash="x")
    db.session.add(user)
    with pytest.raises(InvalidValue):
        db.session.flush()
    db.session.rollback()


def test_records_know_who_changed_them(app, login):
    street = make_street()
    clerk = make_user("street_clerk", area=street)
    need = make_need(make_household(make_community(street)))
    client = login(clerk)
    response = client.post(
        f"/admin/need/edit/?id={need.id}",
        data={
            "household": need.household_id,
            "dimension": need.dimension,
            "category": need.category,
            "description": "更新后的描述",
            "urgency": need.urgency,
            "status": need.status,
            "identified_on": need.identified_on.isoformat(),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    need = db.session.get(Need, need.id)
    assert need.description == "更新后的描述"
    assert need.updated_by_id == clerk.id
    assert need.updated_at >= need.created_at
