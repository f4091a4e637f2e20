"""A household's 变更记录 tells the whole household: its own events and those of its
members, needs, home visits and status changes, each labelled by what it is, masked,
deleted parts too, for those who may read the household — and nobody else."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services import archive, casework
from app.validation import mask_id_number
from tests.factories import make_assessment, make_household, make_member, make_need, new_id_number


def _history(client, household) -> str:
    page = client.get(f"/admin/household/details/?id={household.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    return body.split('class="yijia-history"')[1]


def _entries(history: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>|\s+", " ", e).strip()
        for e in re.findall(r'<li class="yijia-history-entry[^"]*">(.*?)</li>', history, re.S)
    ]


@pytest.fixture
def lived(world):
    """A household whose member's ID number was corrected, with a need, a home visit
    and a status change, and a member entered by mistake and deleted."""
    household = make_household(world.community)
    member = make_member(household, name="王成员")
    need = make_need(household, description="每日送午餐")
    mistaken = make_member(household, name="误录成员")
    db.session.commit()
    old_number, new_number = member.id_number, new_id_number()
    member.id_number = new_number
    need.urgency = "high"
    db.session.commit()
    archive.hard_delete(mistaken, world.admin)
    make_assessment(household, findings="独居老人，行动不便")
    casework.transition_case(household, "assessed", user=world.worker, note="已入户评估")
    db.session.commit()
    return household, member, need, old_number, new_number


@pytest.mark.parametrize("role", ["street_clerk", "community_worker", "district_manager"])
def test_the_household_history_shows_its_parts_labelled_and_masked(world, login, lived, role):
    household, member, need, old_number, new_number = lived
    history = _history(login(world.user(role)), household)
    entries = _entries(history)
    member_entries = [e for e in entries if "家庭成员 · 王成员" in e]
    assert len(member_entries) == 2  # created, then the ID number corrected
    corrected = member_entries[0]
    assert mask_id_number(old_number) in corrected and mask_id_number(new_number) in corrected
    assert old_number not in history and new_number not in history
    assert any("需求清单 · 每日送午餐" in e and "紧急" in e for e in entries), entries
    assert any("入户评估 ·" in e for e in entries)
    assert any("个案状态" in e and "已评估" in e for e in entries), entries
    # a deleted part is still in the trail, named by its number
    assert any("删除" in e and "家庭成员 ·" in e for e in entries), entries
    assert "独居老人" not in history  # findings are stored hidden
    # the household's own creation is there too, unlabelled
    assert any("家庭成员" not in e and "需求清单" not in e and "新建" in e for e in entries)


def test_another_streets_clerk_reads_none_of_it(world, login, lived):
    household = lived[0]
    client = login(world.far_clerk)
    assert client.get(f"/admin/household/details/?id={household.id}").status_code == 404


def test_a_members_reveal_shows_on_the_household_history(world, login):
    household = make_household(world.community)
    member = make_member(household, name="李成员")
    db.session.commit()
    client = login(world.clerk)
    page = client.get(f"/admin/household/details/?id={household.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        f"/admin/member/reveal/?id={member.id}",
        data={"field": "id_number", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    entries = _entries(_history(client, household))
    assert any("家庭成员 · 李成员" in e and "查看完整信息" in e for e in entries), entries


def test_the_member_page_history_is_the_members_own(world, login, lived):
    household, member, need, _old, _new = lived
    body = login(world.clerk).get(f"/admin/member/details/?id={member.id}").get_data(as_text=True)
    entries = _entries(body.split('class="yijia-history"')[1])
    assert len(entries) == 2 and not any("需求清单" in e for e in entries)
    assert household.id and need.id
