"""Casework rules: referrers, case-status moves, home visits, and the to-do list."""

import datetime as dt
import itertools

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.models import Assessment, CaseTransition, Household, Need
from app.models import choices as c
from app.services import casework, todo
from app.services.casework import NeedSpec, record_assessment, transition_case
from app.validation import InvalidValue
from tests.factories import (
    SEVERITIES,
    make_assessment,
    make_household,
    make_need,
    make_organisation,
)

STATUSES = c.values(c.HOUSEHOLD_STATUSES)
ALLOWED = set(c.CASE_TRANSITIONS)
ILLEGAL = [pair for pair in itertools.product(STATUSES, STATUSES) if pair not in ALLOWED]
NOW = dt.datetime(2026, 10, 20, 3, 30)


def _transitions(household) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(CaseTransition)
        .where(CaseTransition.household_id == household.id)
    )


def _visit(household, day, *, by, **kwargs):
    return record_assessment(
        household,
        user=by,
        visit_date=day,
        findings="独居，行动不便",
        severities=kwargs.pop("severities", SEVERITIES),
        **kwargs,
    )


# ------------------------------------------------------------------ referrers
@pytest.mark.parametrize("channel", casework.REFERRAL_CHANNELS)
def test_referral_channels_need_a_referrer(world, channel):
    with force_locale("zh_Hans_CN"), pytest.raises(InvalidValue) as refused:
        make_household(world.community, intake_channel=channel)
    assert "转介" in str(refused.value)
    db.session.rollback()
    make_household(world.community, intake_channel=channel, referrer_person="邻居 张阿姨")
    hospital = make_organisation("hospital")
    make_household(world.community, intake_channel=channel, referrer_organisation=hospital)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Household)) == 2


@pytest.mark.parametrize("channel", ["self_request", "community_discovery"])
def test_self_request_and_community_discovery_need_no_referrer(world, channel):
    household = make_household(world.community, intake_channel=channel)
    db.session.commit()
    assert household.id is not None


def test_changing_the_channel_to_a_referral_later_needs_a_referrer(world):
    household = make_household(world.community)
    db.session.commit()
    household.intake_channel = "hospital_referral"
    with pytest.raises(InvalidValue):
        db.session.flush()
    db.session.rollback()


# -------------------------------------------------------------- status moves
def _household_in(community, status):
    household = make_household(community, status=status, intake_date=dt.date(2026, 9, 1))
    if status != "registered":
        # a visit since the case opened, so "assessed" is reachable where allowed
        make_assessment(household, visit_date=dt.date(2026, 9, 3))
    return household


@pytest.mark.parametrize(("from_status", "to_status"), sorted(ALLOWED))
def test_every_allowed_move_is_made_and_recorded(world, from_status, to_status):
    household = _household_in(world.community, from_status)
    if to_status == "assessed":
        _visit(household, dt.date(2026, 9, 5), by=world.worker)  # records the move itself
        moved = household.transitions[-1]
    else:
        worker = world.worker
        moved = transition_case(household, to_status, user=worker, note="理由说明", now=NOW)
        assert moved.occurred_at == NOW and moved.note == "理由说明"
    db.session.commit()
    db.session.expire_all()
    assert household.status == to_status
    assert (moved.from_status, moved.to_status) == (from_status, to_status)
    assert moved.actor_id == world.worker.id
    assert (moved.street_id, moved.community_id) == (household.street_id, household.community_id)


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_every_illegal_move_is_refused_and_named(world, from_status, to_status):
    household = _household_in(world.community, from_status)
    db.session.commit()
    with force_locale("en"), pytest.raises(InvalidValue) as refused:
        transition_case(household, to_status, user=world.admin, note="试试")
    message = str(refused.value)
    with force_locale("en"):
        assert c.label(c.HOUSEHOLD_STATUSES, from_status) in message
        assert c.label(c.HOUSEHOLD_STATUSES, to_status) in message
    db.session.rollback()
    assert household.status == from_status
    assert _transitions(household) == 0


def test_the_refusal_is_in_chinese_by_default(world):
    household = _household_in(world.community, "registered")
    with pytest.raises(InvalidValue) as refused:
        transition_case(household, "helping", user=world.admin)
    message = str(refused.value)
    assert "已登记" in message and "帮扶中" in message and "不能" in message


def test_unknown_status_is_refused(world):
    household = _household_in(world.community, "registered")
    with pytest.raises(InvalidValue):
        transition_case(household, "deleted", user=world.admin, note="x")


@pytest.mark.parametrize(
    ("from_status", "to_status"), [("helping", "closed"), ("closed", "registered")]
)
def test_closing_and_reopening_need_a_note(world, from_status, to_status):
    household = _household_in(world.community, from_status)
    for note in (None, "", "   "):
        with pytest.raises(InvalidValue):
            transition_case(household, to_status, user=world.worker, note=note)
    assert household.status == from_status
    transition_case(household, to_status, user=world.worker, note="理由")
    assert household.status == to_status


def test_assessed_needs_a_visit_since_the_case_opened(world):
    household = make_household(world.community)
    with pytest.raises(InvalidValue):
        transition_case(household, "assessed", user=world.worker)
    assert household.status == "registered"


@pytest.mark.parametrize(
    ("who", "place"),
    [
        ("worker", "neighbour"),  # same street, another community
        ("worker", "far_community"),
        ("clerk", "far_community"),
        ("manager", "community"),  # reads everything, changes nothing
        ("sponsor", "community"),
    ],
)
def test_only_users_who_may_write_the_household_move_its_case(world, who, place):
    household = make_household(getattr(world, place), status="helping")
    with pytest.raises(InvalidValue):
        transition_case(household, "closed", user=getattr(world, who), note="越权")
    assert household.status == "helping"
    assert _transitions(household) == 0


def test_status_cannot_be_set_without_a_recorded_move(world):
    household = make_household(world.community, status="helping")
    db.session.commit()
    household.status = "closed"
    with pytest.raises(InvalidValue):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Household, household.id).status == "helping"


# ---------------------------------------------------------------- home visits
def test_recording_a_visit_creates_needs_and_moves_a_registered_case(world):
    household = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    worker = world.worker
    visit = _visit(
        household,
        dt.date(2026, 10, 4),
        by=worker,
        visiting_worker=worker,
        needs=[
            NeedSpec("daily_living", "meals", "无人做饭，需要助餐", "high"),
            {"dimension": "physiological", "category": "assistive_device", "description": "轮椅"},
        ],
        now=NOW,
    )
    db.session.commit()
    db.session.expire_all()
    assert visit.household_id == household.id and visit.visiting_worker_id == worker.id
    assert visit.community_id == household.community_id
    needs = db.session.scalars(select(Need).where(Need.assessment_id == visit.id)).all()
    assert sorted(n.category for n in needs) == ["assistive_device", "meals"]
    for need in needs:
        assert need.household_id == household.id
        assert need.status == "open" and need.identified_on == dt.date(2026, 10, 4)
        assert need.community_id == household.community_id
    assert household.status == "assessed"
    (moved,) = household.transitions
    assert (moved.from_status, moved.to_status, moved.actor_id) == (
        "registered",
        "assessed",
        worker.id,
    )
    assert moved.occurred_at == NOW


def test_a_second_visit_does_not_move_the_case(world):
    household = make_household(world.community)
    _visit(household, dt.date(2026, 10, 2), by=world.worker)
    transition_case(household, "helping", user=world.worker)
    _visit(household, dt.date(2026, 10, 9), by=world.worker)
    assert household.status == "helping"
    assert len(household.assessments) == 2
    assert _transitions(household) == 2


TOMORROW = object()  # a run that passes midnight must still see "tomorrow" as the future


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"severities": {**SEVERITIES, "social": 6}}, "severity above 5"),
        ({"severities": {**SEVERITIES, "social": 0}}, "severity below 1"),
        ({"severities": {k: v for k, v in SEVERITIES.items() if k != "employment"}}, "missing"),
        ({"visit_date": TOMORROW}, "future visit"),
        ({"visit_date": dt.date(2026, 9, 30)}, "before intake"),
        ({"findings": "  "}, "no findings"),
        ({"needs": [NeedSpec("spiritual", "meals", "x")]}, "bad dimension"),
        ({"needs": [NeedSpec("social", "meals", " ")]}, "empty need"),
        ({"by": "far_worker"}, "out of scope"),
    ],
)
def test_bad_visits_are_refused_with_nothing_written(world, change, why):
    household = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    db.session.commit()
    kwargs = {"visit_date": dt.date(2026, 10, 3), "findings": "情况", "severities": SEVERITIES}
    kwargs.update(change)
    if kwargs["visit_date"] is TOMORROW:  # resolved when the test runs, not when collected
        kwargs["visit_date"] = dt.date.today() + dt.timedelta(days=1)
    by = getattr(world, kwargs.pop("by", "worker"))
    with pytest.raises(InvalidValue):
        record_assessment(household, user=by, **kwargs)
    db.session.rollback()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Assessment)
            .where(Assessment.household_id == household.id)
        )
        == 0
    ), why
    assert db.session.get(Household, household.id).status == "registered"


def test_the_visiting_worker_works_in_the_area(world):
    household = make_household(world.community)
    with pytest.raises(InvalidValue):
        _visit(household, dt.date(2026, 10, 3), by=world.worker, visiting_worker=world.far_worker)


def test_latest_visit_and_change_since_the_previous(world):
    household = make_household(world.community)
    _visit(household, dt.date(2026, 10, 2), by=world.worker, severities=SEVERITIES)
    later = {**SEVERITIES, "physiological": 3, "social": 4}
    _visit(household, dt.date(2026, 10, 12), by=world.worker, severities=later)
    change = casework.assessment_change(list(household.assessments))
    assert change.latest.visit_date == dt.date(2026, 10, 12)
    assert change.previous.visit_date == dt.date(2026, 10, 2)
    rows = {value: (level, delta) for value, _label, level, delta in change.rows}
    assert rows["physiological"] == (3, -1)
    assert rows["social"] == (4, 2)
    assert rows["employment"] == (1, 0)
    assert [casework.format_change(d) for d in (-1, 2, 0, None)] == ["(↓1)", "(↑2)", "(=)", ""]
    only = casework.assessment_change(household.assessments[:1])
    assert only.previous is None and all(delta is None for *_, delta in only.rows)
    assert casework.assessment_change([]) is None


# ---------------------------------------------------------------------- to-do
def _kinds(items, household):
    return [(i.kind, i.is_overdue) for i in items if i.household_id == household.id]


def test_visit_is_due_for_seven_days_and_overdue_on_the_eighth(world):
    intake = dt.date(2026, 10, 1)
    household = make_household(world.community, intake_date=intake)
    worker = world.worker
    on_time = todo.todo_items(worker, today=intake + dt.timedelta(days=7))
    assert _kinds(on_time, household) == [("visit", False)]
    late = todo.todo_items(worker, today=intake + dt.timedelta(days=8))
    (item,) = [i for i in late if i.household_id == household.id]
    assert item.is_overdue and item.days_overdue == 1
    assert item.due_on == dt.date(2026, 10, 8) and item.overdue_since == dt.date(2026, 10, 9)
    assert (item.endpoint, item.url_args) == ("household.story_view", {"id": household.id})


def test_visit_overdue_days_come_from_the_config(world, app):
    app.config["VISIT_OVERDUE_DAYS"] = 3
    household = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    items = todo.todo_items(world.worker, today=dt.date(2026, 10, 5))
    assert _kinds(items, household) == [("visit", True)]


def test_a_visited_case_leaves_the_list(world):
    household = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    _visit(household, dt.date(2026, 10, 3), by=world.worker)
    assert _kinds(todo.todo_items(world.worker, today=dt.date(2026, 10, 20)), household) == []


def test_a_reopened_case_is_due_seven_days_after_reopening(world):
    household = make_household(world.community, status="closed", intake_date=dt.date(2026, 1, 5))
    reopened = dt.datetime(2026, 10, 10, 2, 0)
    transition_case(household, "registered", user=world.worker, note="再次求助", now=reopened)
    worker = world.worker
    assert _kinds(todo.todo_items(worker, today=dt.date(2026, 10, 17)), household) == [
        ("visit", False)
    ]
    assert _kinds(todo.todo_items(worker, today=dt.date(2026, 10, 18)), household) == [
        ("visit", True)
    ]


def test_a_visit_counts_for_its_own_case_whatever_happens_to_others(world):
    """A registered case visited since intake (only its status is behind) is not due,
    even when another household was reopened after that visit; counted alike."""
    visited = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    make_assessment(visited, visit_date=dt.date(2026, 10, 3))
    other = make_household(world.community, status="closed", intake_date=dt.date(2026, 1, 5))
    transition_case(
        other, "registered", user=world.worker, note="再次求助", now=dt.datetime(2026, 10, 10)
    )
    today = dt.date(2026, 10, 20)
    items = todo.todo_items(world.worker, today=today)
    assert _kinds(items, visited) == [] and _kinds(items, other) == [("visit", True)]
    counts = todo.casework_counts(world.worker, today)
    assert (counts["visits"], counts["visits_overdue"]) == (1, 1)


def test_needs_open_more_than_thirty_days_are_overdue(world):
    household = make_household(world.community, intake_date=dt.date(2026, 8, 1), status="helping")
    today = dt.date(2026, 10, 31)
    for days, status in ((30, "open"), (31, "open"), (45, "met")):
        household.needs.append(
            Need(
                dimension="social",
                category="policy",
                description=f"需求{days}",
                status=status,
                identified_on=today - dt.timedelta(days=days),
            )
        )
    db.session.flush()
    items = [
        i for i in todo.todo_items(world.worker, today=today) if i.household_id == household.id
    ]
    assert [(i.kind, i.is_overdue, i.days_overdue) for i in items] == [("need", True, 1)]
    assert "需求31" in items[0].title
    assert items[0].endpoint == "need.details_view"


WHO_SEES = {
    "admin": True,
    "manager": True,
    "clerk": True,
    "worker": True,
    "far_clerk": False,
    "far_worker": False,
    "sponsor": False,
}


@pytest.mark.parametrize(("who", "sees"), sorted(WHO_SEES.items()))
def test_to_do_follows_the_scope_of_each_role(world, who, sees):
    household = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    items = todo.todo_items(getattr(world, who), today=dt.date(2026, 10, 20))
    assert bool(_kinds(items, household)) is sees


def test_another_community_of_the_street_is_not_the_workers(world):
    household = make_household(world.neighbour, intake_date=dt.date(2026, 10, 1))
    today = dt.date(2026, 10, 20)
    assert _kinds(todo.todo_items(world.worker, today=today), household) == []
    assert _kinds(todo.todo_items(world.clerk, today=today), household) == [("visit", True)]


def test_only_mine_keeps_the_households_assigned_to_the_user(world):
    worker = world.worker
    mine = make_household(world.community, intake_date=dt.date(2026, 10, 1), assigned_worker=worker)
    nobodys = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    today = dt.date(2026, 10, 20)
    items = todo.todo_items(worker, today=today, only_mine=True)
    assert _kinds(items, mine) == [("visit", True)] and _kinds(items, nobodys) == []
    assert all(i.assigned_worker_id == worker.id for i in items)
    assert _kinds(todo.todo_items(worker, today=today), nobodys) == [("visit", True)]
    # the clerk assigned nothing to themself
    assert todo.todo_items(world.clerk, today=today, only_mine=True) == []


def test_every_listed_provider_adds_its_items(world, monkeypatch):
    def plan_months(user, today):
        return [
            todo.TodoItem(
                kind="plan_evidence",
                title="三月证据未上传",
                due_on=today - dt.timedelta(days=3),
                is_overdue=True,
                endpoint="household.story_view",
                url_args={"id": 1},
            )
        ]

    monkeypatch.setattr(todo, "HANDOFF_PROVIDERS", [*todo.HANDOFF_PROVIDERS, plan_months])
    items = todo.todo_items(world.admin, today=dt.date(2026, 11, 1))
    assert "三月证据未上传" in [i.title for i in items]
    assert items[0].is_overdue
    assert todo.todo_summary(world.admin, today=dt.date(2026, 11, 1))["total"] == len(items)


def test_summary_counts_overdue_visits_and_needs(world):
    today = dt.date(2026, 11, 1)
    # in the clerk's street: two visits overdue, one due; one need open 40 days
    make_household(world.community, intake_date=dt.date(2026, 10, 1))
    make_household(world.neighbour, intake_date=dt.date(2026, 10, 20))
    make_household(world.community, intake_date=dt.date(2026, 10, 30))
    helped = make_household(world.community, intake_date=dt.date(2026, 9, 1), status="helping")
    make_need(helped, identified_on=dt.date(2026, 9, 22))
    make_need(helped, identified_on=dt.date(2026, 10, 20))  # open 12 days: not overdue
    # elsewhere: not the clerk's
    make_household(world.far_community, intake_date=dt.date(2026, 10, 1))
    summary = todo.todo_summary(world.clerk, today=today)
    items = todo.todo_items(world.clerk, today=today)
    assert (summary["visits_overdue"], summary["needs_overdue"], summary["total"]) == (2, 1, 4)
    assert summary["visits_overdue"] == sum(i.kind == "visit" and i.is_overdue for i in items)
    assert summary["needs_overdue"] == sum(i.kind == "need" for i in items)
    assert summary["total"] == len(items)
    assert {i.household_id for i in items} <= set(
        db.session.scalars(select(Household.id).where(Household.street_id == world.street.id))
    )
    assert todo.todo_summary(world.far_clerk, today=today)["total"] == 1


# ------------------------------------------------------------------------ CLI
def test_cli_moves_a_case_through_the_same_rule(world, app):
    household = make_household(world.community, status="helping")
    db.session.commit()
    runner = app.test_cli_runner()
    refused = runner.invoke(
        args=["case-status", str(household.id), "closed", "--user", world.worker.username]
    )
    assert refused.exit_code != 0 and "结案" in refused.output
    refused = runner.invoke(
        args=[
            "case-status",
            str(household.id),
            "registered",
            "--user",
            world.worker.username,
            "--note",
            "x",
        ]
    )
    assert refused.exit_code != 0
    out_of_scope = runner.invoke(
        args=[
            "case-status",
            str(household.id),
            "closed",
            "--user",
            world.far_worker.username,
            "--note",
            "x",
        ]
    )
    assert out_of_scope.exit_code != 0
    done = runner.invoke(
        args=[
            "case-status",
            str(household.id),
            "closed",
            "--user",
            world.worker.username,
            "--note",
            "完成",
        ]
    )
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert household.status == "closed"
    assert household.transitions[-1].actor_id == world.worker.id


def test_cli_lists_the_todo(world, app):
    make_household(
        world.community,
        intake_date=dt.date(2026, 10, 1),
        assigned_worker=world.worker,
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["todo", "--user", world.worker.username, "--mine"])
    assert result.exit_code == 0 and "visit" in result.output and "overdue" in result.output


def test_a_visit_cannot_be_moved_before_intake_whoever_saves(world):
    """The rule sits on the model, so an edit form or a script meets it too."""
    household = make_household(world.community, intake_date=dt.date(2026, 10, 1))
    visit = _visit(household, dt.date(2026, 10, 3), by=world.worker)
    db.session.commit()
    visit.visit_date = dt.date(2026, 9, 30)
    with pytest.raises(InvalidValue, match="登记日期"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Assessment, visit.id).visit_date == dt.date(2026, 10, 3)
