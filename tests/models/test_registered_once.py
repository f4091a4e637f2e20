"""A person (by resident ID number) is registered once in the district, as head or as
member — one rule, whichever way the record is saved."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Household, Member
from app.models.household import DuplicateRegistration
from tests.factories import count, make_household, make_member, new_id_number


def test_a_head_who_is_a_member_elsewhere_is_refused_on_save(app, world):
    member = make_member(make_household(world.far_community))
    db.session.commit()
    with pytest.raises(DuplicateRegistration) as refused:
        make_household(world.community, head_id_number=member.id_number)
    assert (refused.value.kind, refused.value.field) == ("member", "head_id_number")
    db.session.rollback()
    assert count(Household) == 1


def test_a_member_who_heads_another_household_is_refused_on_save(app, world):
    other = make_household(world.far_community)
    household = make_household(world.community)
    with pytest.raises(DuplicateRegistration) as refused:
        make_member(household, id_number=other.head_id_number)
    assert (refused.value.kind, refused.value.record_id) == ("head", other.id)


def test_a_member_cannot_be_their_own_households_head(app, world):
    household = make_household(world.community)
    with pytest.raises(DuplicateRegistration):
        make_member(household, id_number=household.head_id_number)


def test_two_new_members_with_one_number_are_refused_in_one_save(app, world):
    household = make_household(world.community)
    number = new_id_number()
    household.members.extend([Member(name="甲", relation="child", id_number=number)])
    household.members.extend([Member(name="乙", relation="child", id_number=number)])
    with pytest.raises(DuplicateRegistration):
        db.session.flush()


def test_a_records_own_number_saved_again_is_no_clash(app, world):
    household = make_household(world.community)
    member = make_member(household)
    db.session.commit()
    member.name = "改名"
    household.address = "新地址"
    db.session.commit()  # neither is refused for holding its own number


def _post_household(client, world, head_id_number):
    return client.post(
        "/admin/household/new/",
        data={
            "head_name": "新户主",
            "head_id_number": head_id_number,
            "community": str(world.community.id),
            "address": "测试路1号",
            "intake_channel": "self_request",
            "intake_date": "2026-10-02",
        },
    )


def test_in_the_users_area_the_message_links_to_the_household(app, world, login):
    existing = make_household(world.community)
    member = make_member(existing)
    response = _post_household(login(world.clerk), world, member.id_number)
    html = response.get_data(as_text=True)
    assert response.status_code == 200  # the form again, with the message
    assert f'href="/admin/household/details/?id={existing.id}"' in html
    assert count(Household) == 1


def test_elsewhere_the_message_reveals_nothing_of_the_other_record(app, world, login):
    elsewhere = make_household(world.far_community, head_name="外街道户主")
    response = _post_household(login(world.clerk), world, elsewhere.head_id_number)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"?id={elsewhere.id}" not in html
    assert "外街道户主" not in html and world.far_community.name not in html
    assert count(Household) == 1


def test_the_cli_and_services_meet_the_same_rule(app, world):
    """No form at all: the model refuses as it does for the panel."""
    head = make_household(world.community)
    db.session.commit()
    db.session.add(
        Member(household_id=head.id, name="重复", relation="child", id_number=head.head_id_number)
    )
    with pytest.raises(DuplicateRegistration):
        db.session.commit()
