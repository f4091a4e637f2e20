"""The to-do list (待办): what needs doing next, for the user who opens it.

Items come from *providers*: plain functions ``provider(user, today) -> list[TodoItem]``
named in ``PROVIDERS``. Casework's two live here:
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
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import access
from app.access import Permission
from app.extensions import db
from app.models import Assessment, CaseTransition, Household, Need, PlanMonth, Pledge, SupportPlan
from app.models import choices as c
from app.services import fund
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


def visits_due(user, today: dt.date) -> list[TodoItem]:
    """Registered households awaiting their home visit; overdue after
    ``VISIT_OVERDUE_DAYS`` days from intake (or from reopening)."""
    limit = _days("VISIT_OVERDUE_DAYS")
    stmt = access.visible(Household, user).where(
        Household.status == "registered", access.active_criterion(Household)
    )
    households = db.session.scalars(stmt.options(selectinload(Household.community))).all()
    if not households:
        return []
    ids = [h.id for h in households]
    reopened = dict(
        db.session.execute(
            select(CaseTransition.household_id, func.max(CaseTransition.occurred_at))
            .where(CaseTransition.household_id.in_(ids), CaseTransition.to_status == "registered")
            .group_by(CaseTransition.household_id)
        ).all()
    )
    last_visit = dict(
        db.session.execute(
            select(Assessment.household_id, func.max(Assessment.visit_date))
            .where(Assessment.household_id.in_(ids))
            .group_by(Assessment.household_id)
        ).all()
    )
    items = []
    for household in households:
        started = household.intake_date
        if household.id in reopened and reopened[household.id].date() > started:
            started = reopened[household.id].date()
        visited = last_visit.get(household.id)
        if visited is not None and visited >= started:
            continue  # visited, only the status is behind
        due = started + dt.timedelta(days=limit)
        late = (today - due).days
        items.append(
            _item_for_household(
                household,
                kind="visit",
                title=_("Home visit due"),
                due_on=due,
                is_overdue=late > 0,
                days_overdue=max(late, 0),
                endpoint="household.story_view",
                url_args={"id": household.id},
            )
        )
    return items


def needs_overdue(user, today: dt.date) -> list[TodoItem]:
    """Needs still open more than ``NEED_OVERDUE_DAYS`` days after they were found."""
    limit = _days("NEED_OVERDUE_DAYS")
    cutoff = today - dt.timedelta(days=limit)
    stmt = (
        access.visible(Need, user)
        .where(Need.status == "open", Need.identified_on < cutoff, access.active_criterion(Need))
        .options(selectinload(Need.household).selectinload(Household.community))
    )
    items = []
    for need in db.session.scalars(stmt):
        due = need.identified_on + dt.timedelta(days=limit)
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


PROVIDERS: list[Provider] = [
    visits_due,
    needs_overdue,
    fund.plan_month_todo_items,
    plan_months_to_check,
    plan_months_to_pay,
    pledges_to_decide,
]


def todo_items(user, today: dt.date | None = None, *, only_mine: bool = False) -> list[TodoItem]:
    """Every provider's items for ``user``: overdue first, then by due date."""
    if not access.can(user, Permission.SEE_TODO):
        return []
    today = today or dt.date.today()
    items: list[TodoItem] = []
    for provider in PROVIDERS:
        items.extend(provider(user, today))
    if only_mine:
        items = [i for i in items if i.assigned_worker_id == user.id]
    items.sort(key=lambda i: (not i.is_overdue, i.due_on, i.kind, i.household_id or 0))
    return items


def todo_summary(user, today: dt.date | None = None) -> dict:
    """Counts for the landing page."""
    items = todo_items(user, today)
    return {
        "visits_overdue": sum(1 for i in items if i.kind == "visit" and i.is_overdue),
        "needs_overdue": sum(1 for i in items if i.kind == "need" and i.is_overdue),
        "overdue": sum(1 for i in items if i.is_overdue),
        "total": len(items),
    }
