"""Casework pages as every role: the case-status buttons, the household form's
referrer, recording a visit, the household story, the to-do page and landing counts."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Assessment,
    CaseTransition,
    Household,
    Need,
    NeedMatch,
    Project,
    ServiceRecord,
    SupportPlan,
)
from app.services import files, todo
from app.services.casework import record_assessment, transition_case
from app.validation import ID_NUMBER_PATTERN, PHONE_PATTERN, mask_id_number
from tests.conftest import ROLES
from tests.factories import (
    SEVERITIES,
    count,
    count_queries,
    jpeg,
    make_assessment,
    make_household,
    make_match,
    make_need,
    make_organisation,
    make_resource,
)

WRITERS = ("district_admin", "street_clerk", "community_worker")


def _status(household_id):
    db.session.expire_all()
    return db.session.get(Household, household_id).status


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.fixture(scope="module")
def shared_world(shared_world):
    """The module's world, with a household due a visit in each place (one of them
    assigned to the worker), a need open since September, and a visit's findings."""
    w = shared_world
    w.due = {
        "mine": make_household(w.community, assigned_worker=w.worker),
        "community": make_household(w.community),
        "neighbour": make_household(w.neighbour),
        "far": make_household(w.far_community),
    }
    helped = make_household(w.community, status="helping", intake_date=dt.date(2026, 8, 1))
    w.due["need"] = helped
    make_need(helped, identified_on=dt.date(2026, 9, 1))
    w.visit = make_assessment(
        helped,
        findings="卧床，家中无人照料",
        living_conditions="老旧小区六楼，无电梯",
        benefits_found="重度残疾人护理补贴",
    )
    db.session.commit()
    return w


# ---------------------------------------------------------------- status moves
@pytest.mark.parametrize("role", WRITERS)
def test_writers_close_a_case_in_scope_with_a_note(world, login, role):
    household = make_household(world.community, status="helping")
    db.session.commit()
    client = login(world.user(role))
    response = client.post(
        "/admin/household/status/",
        data={"id": household.id, "to_status": "closed", "note": "帮扶目标达成"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/household/details/?id={household.id}")
    assert _status(household.id) == "closed"
    (moved,) = db.session.scalars(
        select(CaseTransition).where(CaseTransition.household_id == household.id)
    ).all()
    assert moved.note == "帮扶目标达成" and moved.actor.role == role


def test_closing_without_a_note_is_refused_with_a_message(world, login):
    household = make_household(world.community, status="helping")
    db.session.commit()
    client = login(world.worker)
    response = client.post(
        "/admin/household/status/",
        data={"id": household.id, "to_status": "closed", "note": ""},
        follow_redirects=True,
    )
    assert "结案" in _text(response) and "原因" in _text(response)
    assert _status(household.id) == "helping"


def test_an_illegal_move_is_refused_naming_both_statuses(world, login):
    household = make_household(world.community, status="registered")
    db.session.commit()
    response = login(world.admin).post(
        "/admin/household/status/",
        data={"id": household.id, "to_status": "helping", "note": "跳过评估"},
        follow_redirects=True,
    )
    text = _text(response)
    assert "已登记" in text and "帮扶中" in text
    assert _status(household.id) == "registered"
    assert count(CaseTransition, CaseTransition.household_id == household.id) == 0


@pytest.mark.parametrize(
    ("role", "place", "expected"),
    [
        ("community_worker", "neighbour", 404),
        ("community_worker", "far_community", 404),
        ("street_clerk", "far_community", 404),
        ("district_manager", "community", 403),
        ("sponsor", "community", 403),
    ],
)
def test_status_changes_out_of_scope_are_refused(world, login, role, place, expected):
    household = make_household(getattr(world, place), status="helping")
    db.session.commit()
    response = login(world.user(role)).post(
        "/admin/household/status/", data={"id": household.id, "to_status": "closed", "note": "x"}
    )
    assert response.status_code == expected
    assert _status(household.id) == "helping"


def test_status_change_needs_a_login_and_a_post(world, app):
    household = make_household(world.community, status="helping")
    db.session.commit()
    client = app.test_client()
    response = client.post(
        "/admin/household/status/", data={"id": household.id, "to_status": "closed", "note": "x"}
    )
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _status(household.id) == "helping"


def test_status_change_rejects_an_off_site_next(world, login):
    household = make_household(world.community, status="helping")
    db.session.commit()
    response = login(world.admin).post(
        "/admin/household/status/",
        data={"id": household.id, "to_status": "closed", "note": "x", "next": "//evil.example/"},
    )
    assert "evil" not in response.headers["Location"]


def test_details_page_offers_the_next_statuses_to_writers_only(world, login):
    household = make_household(world.community, status="helping")
    db.session.commit()
    path = f"/admin/household/details/?id={household.id}"
    page = login(world.worker).get(path).get_data(as_text=True)
    assert 'data-to="closed"' in page and 'name="csrf_token"' in page
    assert 'data-to="registered"' not in page and 'data-to="assessed"' not in page
    assert "/admin/household/story/?id=" in page
    manager_page = login(world.manager).get(path).get_data(as_text=True)
    assert 'data-to="closed"' not in manager_page
    assert 'id="case-status-label"' in manager_page


# -------------------------------------------------------------- household form
def test_status_is_not_on_the_household_form_and_cannot_be_posted(world, login):
    household = make_household(world.community, status="helping")
    db.session.commit()
    client = login(world.admin)
    form = client.get(f"/admin/household/edit/?id={household.id}").get_data(as_text=True)
    assert 'name="status"' not in form
    assert 'name="referrer_organisation"' in form and 'name="referrer_person"' in form
    client.post(
        f"/admin/household/edit/?id={household.id}",
        data={
            "head_name": household.head_name,
            "head_id_number": household.head_id_number,
            "address": household.address,
            "community": household.community_id,
            "intake_channel": household.intake_channel,
            "intake_date": household.intake_date.isoformat(),
            "status": "closed",
        },
    )
    assert _status(household.id) == "helping"
    response = client.post(
        "/admin/household/ajax/update/", data={"list_form_pk": household.id, "status": "closed"}
    )
    assert response.status_code != 200
    assert _status(household.id) == "helping"


NEW_HOUSEHOLD = {
    "head_name": "转介户",
    "head_id_number": "11010519491231002X",
    "address": "测试社区3栋",
    "intake_date": "2026-10-05",
}


def test_new_referred_household_needs_a_referrer(world, login):
    client = login(world.worker)
    heping = world.community
    before = count(Household)
    data = {**NEW_HOUSEHOLD, "community": heping.id, "intake_channel": "hospital_referral"}
    response = client.post("/admin/household/new/", data=data)
    assert response.status_code == 200
    assert "转介" in _text(response)
    assert count(Household) == before
    hospital = make_organisation("hospital")
    db.session.commit()
    response = client.post(
        "/admin/household/new/", data={**data, "referrer_organisation": hospital.id}
    )
    assert response.status_code == 302
    created = db.session.scalar(select(Household).where(Household.head_name == "转介户"))
    assert created.referrer_organisation_id == hospital.id
    assert created.status == "registered"


def test_referrer_organisation_offers_only_organisations_in_scope(world, login):
    other_street = make_organisation("social_org", street=world.far_street)
    own_street = make_organisation("social_org", street=world.street)
    form = login(world.worker).get("/admin/household/new/").get_data(as_text=True)
    assert other_street.name not in form and own_street.name in form
    client = login(world.worker)
    before = count(Household)
    client.post(
        "/admin/household/new/",
        data={
            **NEW_HOUSEHOLD,
            "community": world.community.id,
            "intake_channel": "institution_referral",
            "referrer_organisation": other_street.id,
        },
    )
    assert count(Household) == before


def test_resident_referral_takes_a_person(world, login):
    response = login(world.clerk).post(
        "/admin/household/new/",
        data={
            **NEW_HOUSEHOLD,
            "community": world.neighbour.id,
            "intake_channel": "resident_referral",
            "referrer_person": "邻居 李师傅",
        },
    )
    assert response.status_code == 302


# ------------------------------------------------------------ recording visits
def _visit_form(household, worker, **extra):
    return {
        "household": household.id,
        "visit_date": "2026-10-03",
        "visiting_worker": worker.id if worker else "",
        "findings": "卧床，丈夫白天上班",
        **{f"severity_{k}": str(v) for k, v in SEVERITIES.items()},
        "needs-0-dimension": "daily_living",
        "needs-0-category": "meals",
        "needs-0-description": "需要每天送午餐",
        "needs-0-urgency": "high",
        "needs-1-dimension": "physiological",
        "needs-1-category": "nursing",
        "needs-1-description": "需要上门护理",
        "needs-1-urgency": "normal",
        **extra,
    }


def test_a_visit_recorded_on_the_form_creates_needs_and_assesses_the_case(world, login):
    household = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    db.session.commit()
    client = login(world.worker)
    form = client.get(f"/admin/assessment/new/?household_id={household.id}")
    assert form.status_code == 200
    assert f'data-json="[{household.id}, ' in form.get_data(as_text=True)  # preselected
    response = client.post("/admin/assessment/new/", data=_visit_form(household, world.worker))
    assert response.status_code == 302
    db.session.expire_all()
    (visit,) = db.session.scalars(
        select(Assessment).where(Assessment.household_id == household.id)
    ).all()
    assert visit.severity_daily_living == 5 and visit.visiting_worker_id == world.worker.id
    needs = db.session.scalars(select(Need).where(Need.assessment_id == visit.id)).all()
    assert {(n.category, n.household_id, n.urgency) for n in needs} == {
        ("meals", household.id, "high"),
        ("nursing", household.id, "normal"),
    }
    assert _status(household.id) == "assessed"
    (moved,) = db.session.scalars(
        select(CaseTransition).where(CaseTransition.household_id == household.id)
    ).all()
    assert (moved.from_status, moved.to_status) == ("registered", "assessed")
    assert moved.actor_id == world.worker.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"severity_social": "7"}, None),
        ({"severity_social": "__None"}, None),  # left blank
        ({"visit_date": "2999-01-01"}, "晚于今天"),
        ({"visit_date": "2026-09-01"}, None),
        ({"needs-0-dimension": "spiritual"}, None),
    ],
)
def test_bad_visit_forms_save_nothing(world, login, change, message):
    household = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    db.session.commit()
    response = login(world.worker).post(
        "/admin/assessment/new/", data=_visit_form(household, world.worker, **change)
    )
    assert response.status_code == 200
    if message:
        assert message in _text(response)
    assert count(Assessment, Assessment.household_id == household.id) == 0
    assert count(Need, Need.household_id == household.id) == 0
    assert _status(household.id) == "registered"


@pytest.mark.parametrize(
    ("role", "place"),
    [
        ("community_worker", "neighbour"),
        ("community_worker", "far_community"),
        ("street_clerk", "far_community"),
    ],
)
def test_visits_to_households_out_of_scope_are_refused(world, login, role, place):
    household = make_household(getattr(world, place), intake_date=dt.date(2026, 10, 1))
    db.session.commit()
    form = _visit_form(household, None)
    response = login(world.user(role)).post("/admin/assessment/new/", data=form)
    assert response.status_code in (200, 403, 404)
    assert count(Assessment, Assessment.household_id == household.id) == 0
    assert _status(household.id) == "registered"


def test_assessments_cannot_be_deleted(world, login):
    visit = make_assessment(make_household(world.community))
    response = login(world.worker).post("/admin/assessment/delete/", data={"id": visit.id})
    assert response.status_code == 403
    assert db.session.get(Assessment, visit.id) is not None


def test_case_history_is_read_only_for_everyone(world, login):
    household = make_household(world.community, status="helping")
    moved = transition_case(household, "closed", user=world.worker, note="完成")
    client = login(world.admin)
    assert client.get("/admin/case_transition/new/").status_code == 403
    assert client.get(f"/admin/case_transition/edit/?id={moved.id}").status_code == 403
    assert client.post("/admin/case_transition/delete/", data={"id": moved.id}).status_code == 403


# ---------------------------------------------------------------- story page
@pytest.fixture
def storied(world):
    """A household of the worker's community with a full story: referral, visits,
    needs matched, a service with a photo, a support plan and a project."""
    worker = world.worker
    hospital = make_organisation("hospital", name="瑶海区第一人民医院")
    household = make_household(
        world.community,
        intake_date=dt.date(2026, 6, 1),
        intake_channel="hospital_referral",
        referrer_organisation=hospital,
        head_name="故事户主",
        monthly_income=Decimal("820"),
    )
    record_assessment(
        household,
        user=worker,
        visit_date=dt.date(2026, 6, 3),
        findings="卧床需要照护",
        severities=SEVERITIES,
        needs=[{"dimension": "daily_living", "category": "meals", "description": "每日送午餐"}],
    )
    transition_case(household, "helping", user=worker, note="启动睦邻计划")
    record_assessment(
        household,
        user=worker,
        visit_date=dt.date(2026, 9, 3),
        findings="情况好转",
        severities={**SEVERITIES, "daily_living": 3, "physiological": 5},
    )
    need = household.needs[0]
    resource = make_resource(name="睦邻午餐（每月450元）", community=world.community)
    make_match(need, resource, today=dt.date(2026, 6, 5))
    record = ServiceRecord(
        household=household,
        delivered_on=dt.date(2026, 7, 1),
        description="六月午餐送餐",
        provider_person="邻居 陈阿姨",
        amount_yuan=Decimal("450"),
        needs=[need],
    )
    db.session.add(record)
    db.session.flush()
    files.attach_files([("午餐照片.jpg", jpeg())], caption="六月午餐", service_record=record)
    db.session.add(
        SupportPlan(
            name="睦邻助餐计划",
            household=household,
            payee_person="邻居 陈阿姨",
            monthly_amount=Decimal("450"),
            starts_on=dt.date(2026, 6, 1),
            ends_on=dt.date(2026, 8, 1),
        )
    )
    project = Project(
        name="测试到户项目",
        level="household",
        help_kind="service",
        budget=Decimal("5400"),
        status="in_progress",
        community=world.community,
        beneficiaries=[household],
    )
    db.session.add(project)
    db.session.commit()
    return household


def test_story_tells_the_whole_case(world, storied, login):
    response = login(world.worker).get(f"/admin/household/story/?id={storied.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    text = _text(response)
    assert "医院转介" in text or "医院" in text
    assert "瑶海区第一人民医院" in text  # the referrer
    assert page.count('class="yj-transition"') == 2
    assert "启动睦邻计划" in text
    assert page.count("yj-assessment") == 2
    # latest visit with the change since the previous one
    assert re.search(
        r'data-dimension="daily_living">\s*<td>[^<]+</td>\s*<td>3</td>\s*'
        r'<td class="yj-delta">\(↓2\)</td>',
        page,
    )
    assert re.search(
        r'data-dimension="physiological">\s*<td>[^<]+</td>\s*<td>5</td>\s*'
        r'<td class="yj-delta">\(↑1\)</td>',
        page,
    )
    assert "每日送午餐" in text and "睦邻午餐" in text  # need and its matched resource
    assert "六月午餐送餐" in text
    (photo,) = storied.service_records[0].files
    assert f"/files/{photo.id}/thumbnail" in page
    assert "睦邻助餐计划" in text
    assert "测试到户项目" in text


@pytest.mark.parametrize("role", ROLES)
def test_story_scope_for_every_role(world, storied, login, role):
    client = login(world.user(role))
    expected = 403 if role == "sponsor" else 200
    assert client.get(f"/admin/household/story/?id={storied.id}").status_code == expected
    other_street = make_household(world.far_community)
    same_street_other_community = make_household(world.neighbour)
    db.session.commit()
    expected_other = {
        "district_admin": (200, 200),
        "district_manager": (200, 200),
        "street_clerk": (404, 200),
        "community_worker": (404, 404),
        "sponsor": (403, 403),
    }[role]
    got = (
        client.get(f"/admin/household/story/?id={other_street.id}").status_code,
        client.get(f"/admin/household/story/?id={same_street_other_community.id}").status_code,
    )
    assert got == expected_other


@pytest.mark.parametrize("raw", ["", "abc", "1,2", "-3", "99999999"])
def test_story_with_a_malformed_id_is_not_found(shared_world, shared_login, raw):
    assert (
        shared_login(shared_world.admin).get(f"/admin/household/story/?id={raw}").status_code == 404
    )


def test_story_needs_a_login(shared_app):
    response = shared_app.test_client().get("/admin/household/story/?id=1")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("role", "reveals"),
    [
        ("district_admin", True),
        ("street_clerk", True),
        ("community_worker", True),
        ("district_manager", False),
    ],
)
def test_story_reveals_personal_data_only_to_those_who_may(world, storied, login, role, reveals):
    page = (
        login(world.user(role))
        .get(f"/admin/household/story/?id={storied.id}")
        .get_data(as_text=True)
    )
    # ID numbers and phones are masked for everyone until 显示 (a recorded reveal,
    # offered to those who may see them); income and findings follow the role
    assert storied.head_id_number not in page and storied.head_phone not in page
    assert mask_id_number(storied.head_id_number) in page
    assert ("/admin/household/reveal/" in page) is reveals
    assert ("卧床需要照护" in page) is reveals  # findings of the visit
    assert ("¥820.00" in page) is reveals  # income (not "820": a nonce or token may hold it)
    assert not ID_NUMBER_PATTERN.search(page) and not PHONE_PATTERN.search(page)


def _statements(client, path) -> int:
    with count_queries() as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_story_queries_do_not_grow_with_the_story(world, storied, login):
    client = login(world.worker)
    path = f"/admin/household/story/?id={storied.id}"
    client.get(path)  # the process reads the area tree once
    before = _statements(client, path)
    resource = make_resource(name="个案咨询与辅导", category="counselling")
    for i in range(4):
        need = Need(
            household=storied,
            dimension="psychological",
            category="counselling",
            description=f"心理疏导{i}",
        )
        db.session.add(need)
        db.session.add(NeedMatch(need=need, resource=resource, quantity=Decimal("1")))
        record = ServiceRecord(
            household=storied, delivered_on=dt.date(2026, 8, 1 + i), description=f"服务{i}"
        )
        db.session.add(record)
        db.session.flush()
        files.attach_files([(f"照片{i}.jpg", jpeg())], service_record=record)
    transition_case(storied, "closed", user=world.worker, note="结案")
    db.session.commit()
    after = _statements(client, path)
    assert after == before, f"{before} statements before, {after} with more rows"


# ------------------------------------------------------------- to-do, landing
@pytest.mark.parametrize("role", ROLES)
def test_todo_page_for_every_role(shared_world, shared_login, role):
    response = shared_login(shared_world.user(role)).get("/admin/todo/")
    assert response.status_code == (403 if role == "sponsor" else 200)


def test_todo_needs_a_login(shared_app):
    response = shared_app.test_client().get("/admin/todo/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _todo_households(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-household-id="(\d+)"', page)}


@pytest.mark.parametrize("role", ["street_clerk", "community_worker"])
def test_todo_page_lists_only_households_in_scope(shared_world, shared_login, role):
    page = shared_login(shared_world.user(role)).get("/admin/todo/").get_data(as_text=True)
    shown = _todo_households(page)
    due = shared_world.due
    expected = {
        "street_clerk": {"mine", "community", "neighbour", "need"},
        "community_worker": {"mine", "community", "need"},
    }[role]
    assert shown == {due[key].id for key in expected}
    assert "逾期" in page or "待办" in page


def test_street_switcher_narrows_the_todo_page(shared_world, shared_login):
    client = shared_login(shared_world.admin)
    street = shared_world.far_street
    client.post("/admin/street/", data={"street_id": street.id, "next": "/admin/"})
    shown = _todo_households(client.get("/admin/todo/").get_data(as_text=True))
    client.post("/admin/street/", data={"street_id": "", "next": "/admin/"})
    everywhere = _todo_households(client.get("/admin/todo/").get_data(as_text=True))
    assert shown == {shared_world.due["far"].id}
    assert everywhere == {household.id for household in shared_world.due.values()}


def test_only_mine_on_the_todo_page(shared_world, shared_login):
    page = shared_login(shared_world.worker).get("/admin/todo/?mine=1").get_data(as_text=True)
    assert _todo_households(page) == {shared_world.due["mine"].id}


@pytest.mark.parametrize("role", ["district_admin", "street_clerk", "community_worker"])
def test_landing_page_counts_the_todo(shared_world, shared_login, role):
    page = shared_login(shared_world.user(role)).get("/admin/").get_data(as_text=True)
    summary = todo.todo_summary(shared_world.user(role))
    # visits overdue (intake 2026-10-01, more than a week ago) and one need open since
    # 2026-09-01: admin 4 + 1, clerk 3 + 1, worker 2 + 1
    total = {"district_admin": 5, "street_clerk": 4, "community_worker": 3}[role]
    assert (summary["total"], summary["visits_overdue"], summary["needs_overdue"]) == (
        total,
        total - 1,
        1,
    )
    assert f'id="count-todo">{summary["total"]}<' in page
    assert f'id="count-visits-overdue">{summary["visits_overdue"]}<' in page
    assert f'id="count-needs-overdue">{summary["needs_overdue"]}<' in page


def test_landing_page_has_no_todo_for_sponsors(shared_world, shared_login):
    page = shared_login(shared_world.sponsor).get("/admin/").get_data(as_text=True)
    assert 'id="count-todo"' not in page


def test_household_list_links_each_row_to_its_story(shared_world, shared_login):
    page = shared_login(shared_world.worker).get("/admin/household/").get_data(as_text=True)
    shown = set(re.findall(r"/admin/household/details/\?id=(\d+)", page))
    linked = set(re.findall(r"/admin/household/story/\?id=(\d+)", page))
    assert shown and linked == shown


def test_editing_a_visit_keeps_its_household_and_adds_needs_to_it(world, login):
    household = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    visit = record_assessment(
        household,
        user=world.worker,
        visit_date=dt.date(2026, 10, 3),
        findings="初访",
        severities=SEVERITIES,
    )
    db.session.commit()
    other = make_household(world.community, intake_date=dt.date(2026, 10, 1), head_name="另一户")
    db.session.commit()
    client = login(world.worker)
    page = client.get(f"/admin/assessment/edit/?id={visit.id}").get_data(as_text=True)
    assert 'name="household"' not in page
    data = {k: v for k, v in _visit_form(household, world.worker).items() if k != "household"}
    data.update(findings="复核后补充", household=other.id, visit_date="2026-10-04")
    response = client.post(f"/admin/assessment/edit/?id={visit.id}", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    visit = db.session.get(Assessment, visit.id)
    assert visit.household_id == household.id and visit.findings == "复核后补充"
    assert {(n.category, n.household_id) for n in visit.needs} == {
        ("meals", household.id),
        ("nursing", household.id),
    }
    response = client.post(
        f"/admin/assessment/edit/?id={visit.id}", data={**data, "visit_date": "2026-09-01"}
    )
    db.session.expire_all()
    assert db.session.get(Assessment, visit.id).visit_date == dt.date(2026, 10, 4)


def test_a_manager_never_reads_what_a_visit_found(shared_world, shared_login):
    """Findings, living conditions and benefits found are personal (health, income):
    masked for the district manager on the assessment page as on the story page."""
    visit = shared_world.visit
    page = shared_login(shared_world.manager).get(f"/admin/assessment/details/?id={visit.id}")
    assert page.status_code == 200
    for text in (visit.living_conditions, visit.findings, visit.benefits_found):
        assert text not in page.text
    staff = shared_login(shared_world.admin).get(f"/admin/assessment/details/?id={visit.id}")
    assert visit.living_conditions in staff.text
