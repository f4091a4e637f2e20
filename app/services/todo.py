"""The to-do list (待办): what needs doing next, for the user who opens it.

Items come from *providers*: plain functions ``provider(user, today) -> list[TodoItem]``
named in ``CASEWORK_PROVIDERS`` (which also take ``limit`` and ``only_mine``, applied in
SQL, and are counted by ``casework_counts`` in SQL: a district holds a hundred thousand
cases) and ``HANDOFF_PROVIDERS`` (listed whole). Casework's two live here:
- home visits due: ``registered`` households with no home-visit assessment since intake
  (or since the case was reopened); overdue after ``VISIT_OVERDUE_DAYS``;
- needs still open after ``NEED_OVERDUE_DAYS``.
Other modules keep their own beside their rules (the special fund: support-plan months
without evidence) and are listed in ``PROVIDERS``; ``TodoItem`` lives in
``app/services/todo_item.py`` so that they need not import this module.

Whose items: every provider reads through ``access.visible``, so a community worker
sees their community's, a street clerk their street's, district staff everything (or
the street chosen in the switcher). ``only_mine`` keeps the households assigned to the
user. Tests freeze the clock by passing ``today``.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import selectinload

from app import access
from app.access import Permission
from app.extensions import db
from app.models import Assessment, CaseTransition, Household, Need, PlanMonth, Pledge, SupportPlan
from app.models import choices as c
from app.services import counting, fund
from app.services.todo_item import Provider, TodoItem

#: to-do thresholds in days (settings of the same names override them)
DEFAULT_DAYS = {"VISIT_OVERDUE_DAYS": 7, "NEED_OVERDUE_DAYS": 30, "HANDOFF_DAYS": 7}


def _days(name: str) -> int:
    return int(current_app.config.get(name, DEFAULT_DAYS[name]))


def _item_for_household(household: Household, **kwargs) -> TodoItem:
    return TodoItem(
        household_id=household.id,
        household_label=str(household),
        assigned_worker_id=household.assigned_worker_id,
        **kwargs,
    )


def _visits_due_criteria(today: dt.date):
    """(due, overdue): SQL criteria on ``Household`` for a registered household whose
    home visit is still to be made, and for one whose visit is overdue.

    A visit counts if it is on or after the intake date and no reopening of the case
    (a transition back to ``registered``) came after it; the case is due from intake, or
    from its latest reopening. Overdue: due since before ``today - VISIT_OVERDUE_DAYS``.
    EXISTS, not lists of ids: the district holds a hundred thousand registered cases."""
    cutoff = today - dt.timedelta(days=_days("VISIT_OVERDUE_DAYS"))
    reopened_after_visit = (
        select(CaseTransition.id)
        .where(
            CaseTransition.household_id == Household.id,
            CaseTransition.to_status == "registered",
            func.date(CaseTransition.occurred_at) > Assessment.visit_date,
        )
        .correlate(Household, Assessment)
        .exists()
    )
    visited = (
        select(Assessment.id)
        .where(
            Assessment.household_id == Household.id,
            Assessment.visit_date >= Household.intake_date,
            ~reopened_after_visit,
        )
        .correlate(Household)
        .exists()
    )
    reopened_lately = (
        select(CaseTransition.id)
        .where(
            CaseTransition.household_id == Household.id,
            CaseTransition.to_status == "registered",
            func.date(CaseTransition.occurred_at) >= cutoff,
        )
        .correlate(Household)
        .exists()
    )
    due = and_(Household.status == "registered", access.active_criterion(Household), ~visited)
    overdue = and_(Household.intake_date < cutoff, ~reopened_lately)
    return due, overdue


def _mine(user, only_mine: bool):
    return Household.assigned_worker_id == user.id if only_mine else true()


def visits_due(
    user, today: dt.date, *, limit: int | None = None, only_mine: bool = False
) -> list[TodoItem]:
    """Registered households awaiting their home visit; overdue after
    ``VISIT_OVERDUE_DAYS`` days from intake (or from reopening). The ``limit`` earliest
    by intake date (a reopened case sorts by its intake, and is dated by its reopening)."""
    limit_days = _days("VISIT_OVERDUE_DAYS")
    due, _overdue = _visits_due_criteria(today)
    stmt = (
        access.visible(Household, user)
        .where(due, _mine(user, only_mine))
        .order_by(Household.intake_date, Household.id)
        .limit(limit)
        # (a household prints its community from the kept area tree)
    )
    households = db.session.scalars(stmt).all()
    if not households:
        return []
    reopened = dict(
        db.session.execute(
            select(CaseTransition.household_id, func.max(CaseTransition.occurred_at))
            .where(
                CaseTransition.household_id.in_([h.id for h in households]),
                CaseTransition.to_status == "registered",
            )
            .group_by(CaseTransition.household_id)
        ).all()
    )
    items = []
    for household in households:
        started = household.intake_date
        if household.id in reopened and reopened[household.id].date() > started:
            started = reopened[household.id].date()
        due_on = started + dt.timedelta(days=limit_days)
        late = (today - due_on).days
        items.append(
            _item_for_household(
                household,
                kind="visit",
                title=_("Home visit due"),
                due_on=due_on,
                is_overdue=late > 0,
                days_overdue=max(late, 0),
                endpoint="household.story_view",
                url_args={"id": household.id},
            )
        )
    return items


def _needs_overdue_criterion(today: dt.date):
    cutoff = today - dt.timedelta(days=_days("NEED_OVERDUE_DAYS"))
    return and_(Need.status == "open", Need.identified_on < cutoff, access.active_criterion(Need))


def needs_overdue(
    user, today: dt.date, *, limit: int | None = None, only_mine: bool = False
) -> list[TodoItem]:
    """Needs still open more than ``NEED_OVERDUE_DAYS`` days after they were found, the
    ``limit`` longest-waiting first."""
    limit_days = _days("NEED_OVERDUE_DAYS")
    stmt = access.visible(Need, user).where(_needs_overdue_criterion(today))
    if only_mine:
        stmt = stmt.join(Household, Household.id == Need.household_id).where(_mine(user, only_mine))
    stmt = (
        stmt.order_by(Need.identified_on, Need.id)
        .limit(limit)
        .options(selectinload(Need.household))
    )
    items = []
    for need in db.session.scalars(stmt):
        due = need.identified_on + dt.timedelta(days=limit_days)
        items.append(
            _item_for_household(
                need.household,
                kind="need",
                title=_(
                    "Open need: %(dimension)s · %(text)s",
                    dimension=c.label(c.NEED_DIMENSIONS, need.dimension),
                    text=need.description[:40],
                ),
                due_on=due,
                is_overdue=True,
                days_overdue=(today - due).days,
                endpoint="need.details_view",
                url_args={"id": need.id},
            )
        )
    return items


def casework_counts(user, today: dt.date, *, only_mine: bool = False) -> dict[str, int]:
    """Visits due, of them overdue, and needs overdue: each counted in SQL up to
    ``COUNT_CAP`` (then "1,000+"), three statements whatever the district's size."""
    due, overdue = _visits_due_criteria(today)
    visits = access.visible(Household, user, select(Household.id)).where(
        due, _mine(user, only_mine)
    )
    needs = access.visible(Need, user, select(Need.id)).where(_needs_overdue_criterion(today))
    if only_mine:
        needs = needs.join(Household, Household.id == Need.household_id).where(
            _mine(user, only_mine)
        )
    return {
        "visits": counting.count_up_to(visits, COUNT_CAP),
        "visits_overdue": counting.count_up_to(visits.where(overdue), COUNT_CAP),
        "needs_overdue": counting.count_up_to(needs, COUNT_CAP),
    }


#: the providers asked for items, in order: an explicit list, so that the to-do list
#: imports the modules it asks and none of them imports it back
# ------------------------------------------------------------- hand-offs
# What waits on someone else's decision: the worker uploads a month's evidence, the
# clerk checks it, the district administrator pays it; a sponsor pledges, the clerk
# decides. Each is on the list of whoever holds that permission, in their area.
def _handoff_due(since: dt.date) -> dt.date:
    return since + dt.timedelta(days=_days("HANDOFF_DAYS"))


def _last_day(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _month_item(month: PlanMonth, today: dt.date, *, kind: str, title: str, due: dt.date):
    household = month.plan.household
    late = (today - due).days
    return _item_for_household(
        household,
        kind=kind,
        title=title,
        due_on=due,
        is_overdue=late > 0,
        days_overdue=max(late, 0),
        endpoint="plan_month.details_view",
        url_args={"id": month.id},
    )


def plan_months_to_check(user, today: dt.date) -> list[TodoItem]:
    """Months whose evidence is uploaded and waits for the clerk's check."""
    if not access.can(user, Permission.CHECK_PLAN_MONTH):
        return []
    stmt = (
        access.writable(PlanMonth, user)
        .where(PlanMonth.status == "evidence_uploaded")
        .options(selectinload(PlanMonth.plan).selectinload(SupportPlan.household))
        .order_by(PlanMonth.month, PlanMonth.id)
    )
    return [
        _month_item(
            month,
            today,
            kind="plan_month_check",
            title=_(
                "Check the evidence of %(plan)s for %(month)s",
                plan=month.plan.name,
                month=f"{month.month:%Y-%m}",
            ),
            due=_handoff_due(max(_last_day(month.month), month.month)),
        )
        for month in db.session.scalars(stmt)
    ]


def plan_months_to_pay(user, today: dt.date) -> list[TodoItem]:
    """Checked months not yet paid, for whoever posts to the fund's ledger."""
    if not access.can(user, Permission.PAY_PLAN_MONTH):
        return []
    stmt = (
        access.writable(PlanMonth, user)
        .where(PlanMonth.status == "checked", PlanMonth.is_evidence_accepted.is_(True))
        .options(selectinload(PlanMonth.plan).selectinload(SupportPlan.household))
        .order_by(PlanMonth.month, PlanMonth.id)
    )
    return [
        _month_item(
            month,
            today,
            kind="plan_month_pay",
            title=_(
                "Pay %(plan)s for %(month)s",
                plan=month.plan.name,
                month=f"{month.month:%Y-%m}",
            ),
            due=_handoff_due((month.checked_at or dt.datetime.combine(today, dt.time())).date()),
        )
        for month in db.session.scalars(stmt)
        if month.payment is None
    ]


def pledges_to_decide(user, today: dt.date) -> list[TodoItem]:
    """Sponsors' pledges waiting for the street office's approval."""
    if not access.can(user, Permission.DECIDE_PLEDGE):
        return []
    stmt = (
        access.writable(Pledge, user)
        .where(Pledge.status == "pending")
        .options(selectinload(Pledge.project), selectinload(Pledge.organisation))
        .order_by(Pledge.pledged_at, Pledge.id)
    )
    items = []
    for pledge in db.session.scalars(stmt):
        due = _handoff_due(pledge.pledged_at.date())
        late = (today - due).days
        items.append(
            TodoItem(
                kind="pledge_decision",
                title=_(
                    "Decide the pledge of %(organisation)s to %(project)s",
                    organisation=pledge.organisation.name,
                    project=pledge.project.name,
                ),
                due_on=due,
                is_overdue=late > 0,
                days_overdue=max(late, 0),
                endpoint="pledge.details_view",
                url_args={"id": pledge.id},
            )
        )
    return items


#: casework's two providers, which the district's size makes large: bounded by
#: ``limit`` in SQL, and counted by ``casework_counts``
CASEWORK_PROVIDERS: list[Provider] = [visits_due, needs_overdue]
#: the hand-off providers: as many items as plans and pledges waiting, which a
#: district counts in tens (they are listed whole)
HANDOFF_PROVIDERS: list[Provider] = [
    fund.plan_month_todo_items,
    plan_months_to_check,
    plan_months_to_pay,
    pledges_to_decide,
]
PROVIDERS: list[Provider] = CASEWORK_PROVIDERS + HANDOFF_PROVIDERS
#: the to-do page lists at most this many items of each casework kind: the most
#: overdue, more than a day's visits (at 200 a kind the page was 127 KB, a scroll of
#: 400 rows on a phone)
PAGE_LIMIT = 50
#: casework counts stop here ("1,000+"): a hundred thousand visits due in a district
#: take a second to count, a thousand a few milliseconds; past a thousand, the figure
#: changes nobody's day
COUNT_CAP = 1_000


def _sorted(items: list[TodoItem]) -> list[TodoItem]:
    items.sort(key=lambda i: (not i.is_overdue, i.due_on, i.kind, i.household_id or 0))
    return items


def todo_items(
    user, today: dt.date | None = None, *, only_mine: bool = False, limit: int | None = None
) -> list[TodoItem]:
    """Every provider's items for ``user``: overdue first, then by due date; at most
    ``limit`` of each casework kind (None: all, e.g. for the CLI's daily reminder)."""
    if not access.can(user, Permission.SEE_TODO):
        return []
    today = today or dt.date.today()
    items: list[TodoItem] = []
    for provider in CASEWORK_PROVIDERS:
        items.extend(provider(user, today, limit=limit, only_mine=only_mine))
    for provider in HANDOFF_PROVIDERS:
        found = provider(user, today)
        items.extend(i for i in found if i.assigned_worker_id == user.id or not only_mine)
    return _sorted(items)


def todo_summary(user, today: dt.date | None = None, *, only_mine: bool = False) -> dict:
    """Counts for the landing page and the to-do page, in SQL for casework."""
    if not access.can(user, Permission.SEE_TODO):
        return {
            "visits_overdue": 0,
            "needs_overdue": 0,
            "overdue": 0,
            "total": 0,
            "visits": 0,
            "handoffs": 0,
        }
    today = today or dt.date.today()
    counts = casework_counts(user, today, only_mine=only_mine)
    handoffs = [
        i
        for provider in HANDOFF_PROVIDERS
        for i in provider(user, today)
        if i.assigned_worker_id == user.id or not only_mine
    ]
    handoffs_overdue = sum(1 for i in handoffs if i.is_overdue)
    return {
        "visits_overdue": counts["visits_overdue"],
        "needs_overdue": counts["needs_overdue"],
        "overdue": counting.capped_sum(
            counts["visits_overdue"], counts["needs_overdue"], handoffs_overdue
        ),
        "total": counting.capped_sum(counts["visits"], counts["needs_overdue"], len(handoffs)),
        "visits": counts["visits"],
        "handoffs": len(handoffs),
    }
