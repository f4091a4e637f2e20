"""What the special fund's pages report: its position (balance, earmarked, reserved,
free), the anomalies the monitoring page lists, and the support-plan months on the
to-do list. Read only: nothing here writes.

Earmarked and free money (``fund_position``)
--------------------------------------------
- *Earmarked for projects*: for each project, donations received for it (directly
  or through its sponsors' pledges) minus what has been disbursed to it, both net of
  reversals, when positive.
- *Reserved for support plans*: the monthly amount of every month not yet paid of
  every active plan (past months still owed included).
- *Free to spend* = balance − earmarked − reserved, never shown below zero (a
  shortfall is shown instead). Plans tied to a project may be counted twice (as
  the project's earmark and as the plan's months): the free amount errs low.

Anomalies (``anomalies``)
-------------------------
Disbursements without evidence, months of active plans that ended unpaid, projects
paid beyond their budget, and approved money pledges not received in time; each
within what the user may read.

To-do (``plan_month_todo_items``)
---------------------------------
Listed in ``app/services/todo.py``'s ``PROVIDERS``; this module does not import the
to-do list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import selectinload

from app import access
from app.extensions import db
from app.models import LedgerEntry, PlanMonth, Pledge, Project, StoredFile, SupportPlan
from app.services.fund.ledger import (
    get_account,
    ledger_balance,
    money,
    net_in_out,
    refresh_balance,
    signed_amount,
)
from app.services.todo_item import TodoItem


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _scoped(model, user, stmt):
    """``stmt`` narrowed to the user's rows; ``user=None`` means the whole fund."""
    return stmt if user is None else access.visible(model, user, stmt)


def project_earmarks(user) -> list[tuple[Project, Decimal]]:
    """Per project (visible to ``user``; all when None): received for it minus paid to it, net of reversals, > 0."""
    net = (
        select(LedgerEntry.project_id, func.sum(signed_amount()).label("net"))
        .where(LedgerEntry.project_id.is_not(None))
        .group_by(LedgerEntry.project_id)
        .subquery()
    )
    stmt = _scoped(
        Project, user, select(Project, net.c.net).join(net, net.c.project_id == Project.id)
    ).order_by(Project.id)
    return [(p, money(n)) for p, n in db.session.execute(stmt) if money(n) > 0]


def plan_reservations(user) -> list[tuple[SupportPlan, Decimal, int]]:
    """Per visible active plan: (plan, monthly amount × months not yet paid, months)."""
    unpaid = func.count(PlanMonth.id)
    stmt = _scoped(
        SupportPlan,
        user,
        select(SupportPlan, unpaid)
        .join(PlanMonth, PlanMonth.plan_id == SupportPlan.id)
        .where(SupportPlan.status == "active", PlanMonth.status != "paid")
        .group_by(SupportPlan.id),
    ).order_by(SupportPlan.id)
    return [(p, money(p.monthly_amount) * n, n) for p, n in db.session.execute(stmt)]


def ledger_totals(user, since: dt.date, until: dt.date) -> tuple[Decimal, Decimal]:
    """(money in, money out) posted in [since, until], net of reversals, over the
    ledger rows the user may read."""
    money_in, money_out = net_in_out()
    stmt = access.visible(
        LedgerEntry,
        user,
        select(func.coalesce(func.sum(money_in), 0), func.coalesce(func.sum(money_out), 0)),
    ).where(LedgerEntry.posted_on >= since, LedgerEntry.posted_on <= until)
    total_in, total_out = db.session.execute(stmt).one()
    return money(total_in), money(total_out)


def fund_position(user, today: dt.date) -> dict:
    """Everything the overview page shows. Balance, earmarked, reserved and free are
    fund-wide (one account); the breakdowns and the month/year totals are limited to
    what the user may read."""
    account = get_account()
    refresh_balance(account)
    balance = money(account.balance)
    earmarked = sum((a for _p, a in project_earmarks(None)), Decimal("0"))
    reserved = sum((a for _p, a, _n in plan_reservations(None)), Decimal("0"))
    free = balance - earmarked - reserved
    month_in, month_out = ledger_totals(user, month_start(today), today)
    year_in, year_out = ledger_totals(user, today.replace(month=1, day=1), today)
    return {
        "account": account,
        "balance": balance,
        "ledger_balance": ledger_balance(account),
        "earmarked": money(earmarked),
        "reserved": money(reserved),
        "free": money(max(free, Decimal("0"))),
        "shortfall": money(max(-free, Decimal("0"))),
        "project_earmarks": project_earmarks(user),
        "plan_reservations": plan_reservations(user),
        "month_in": month_in,
        "month_out": month_out,
        "year_in": year_in,
        "year_out": year_out,
    }


# --------------------------------------------------------------- monitoring
def _unreversed(stmt):
    rev = LedgerEntry.__table__.alias("rev")
    return stmt.where(~exists(select(rev.c.id).where(rev.c.reverses_id == LedgerEntry.id)))


def disbursements_without_evidence(user, today: dt.date) -> list[LedgerEntry]:
    """Disbursements posted on or before ``today``, not reversed, with no file (a
    support-plan payment counts its month's evidence)."""
    stmt = access.visible(LedgerEntry, user).where(
        LedgerEntry.entry_type == "disbursement",
        LedgerEntry.posted_on <= today,
        ~exists(select(StoredFile.id).where(StoredFile.ledger_entry_id == LedgerEntry.id)),
        # a support-plan payment is proven by its month's photos and menu lists
        or_(
            LedgerEntry.plan_month_id.is_(None),
            ~exists(
                select(StoredFile.id).where(StoredFile.plan_month_id == LedgerEntry.plan_month_id)
            ),
        ),
    )
    stmt = _unreversed(stmt).options(
        selectinload(LedgerEntry.project),
        selectinload(LedgerEntry.household),
        selectinload(LedgerEntry.payee_organisation),
    )
    return list(db.session.scalars(stmt.order_by(LedgerEntry.posted_on, LedgerEntry.id)))


@dataclass
class MissingMonth:
    month: PlanMonth
    #: "no_evidence", "not_checked" or "not_paid"
    problem: str


def plan_months_missing(user, today: dt.date) -> list[MissingMonth]:
    """Months of active plans that have ended (before ``today``'s month) and are not
    paid: with no evidence, with evidence not yet checked, or checked but unpaid."""
    stmt = (
        access.visible(PlanMonth, user)
        .join(SupportPlan, SupportPlan.id == PlanMonth.plan_id)
        .where(
            SupportPlan.status == "active",
            PlanMonth.month < month_start(today),
            PlanMonth.status != "paid",
        )
        .options(
            selectinload(PlanMonth.plan).selectinload(SupportPlan.household),
            selectinload(PlanMonth.files),
        )
        .order_by(PlanMonth.month, PlanMonth.id)
    )
    result = []
    for month in db.session.scalars(stmt):
        if not month.files:
            problem = "no_evidence"
        elif month.status == "checked":
            problem = "not_paid"
        else:
            problem = "not_checked"
        result.append(MissingMonth(month, problem))
    return result


def projects_over_budget(user, today: dt.date) -> list[tuple[Project, Decimal]]:
    """Projects whose disbursements (net of reversals) up to ``today`` exceed the budget."""
    _in, paid = net_in_out()
    spent = (
        select(LedgerEntry.project_id, func.sum(paid).label("spent"))
        .where(LedgerEntry.project_id.is_not(None), LedgerEntry.posted_on <= today)
        .group_by(LedgerEntry.project_id)
        .subquery()
    )
    stmt = access.visible(
        Project, user, select(Project, spent.c.spent).join(spent, spent.c.project_id == Project.id)
    ).order_by(Project.id)
    return [(p, money(s)) for p, s in db.session.execute(stmt) if money(s) > money(p.budget)]


def pledges_not_received(user, today: dt.date, days: int | None = None) -> list[Pledge]:
    """Approved money pledges not received ``days`` days after approval
    (``PLEDGE_RECEIPT_OVERDUE_DAYS``, default 30)."""
    if days is None:
        days = current_app.config.get("PLEDGE_RECEIPT_OVERDUE_DAYS", 30)
    cutoff = dt.datetime.combine(today - dt.timedelta(days=days), dt.time.min)
    stmt = (
        access.visible(Pledge, user)
        .where(
            Pledge.kind == "money",
            Pledge.status == "approved",
            Pledge.received_on.is_(None),
            Pledge.decided_at.is_not(None),
            Pledge.decided_at < cutoff,
        )
        .options(selectinload(Pledge.project), selectinload(Pledge.organisation))
        .order_by(Pledge.decided_at, Pledge.id)
    )
    return list(db.session.scalars(stmt))


def anomalies(user, today: dt.date) -> dict:
    """Every kind of anomaly the monitoring page lists, in the user's scope."""
    result = {
        "disbursements_without_evidence": disbursements_without_evidence(user, today),
        "plan_months_missing": plan_months_missing(user, today),
        "projects_over_budget": projects_over_budget(user, today),
        "pledges_not_received": [],
    }
    if access.may_read(Pledge, user):
        result["pledges_not_received"] = pledges_not_received(user, today)
    return result


# -------------------------------------------------------------------- to-do
def plan_month_todo_items(user, today: dt.date) -> list[TodoItem]:
    """Months of active plans that have ended without any evidence, for those who
    upload it (the household's community worker, its street clerk, the district
    administrator). On time until the month's last day; overdue from the next day.
    Listed as a provider of the to-do list (``app/services/todo.py``)."""
    stmt = (
        access.writable(PlanMonth, user)
        .join(SupportPlan, SupportPlan.id == PlanMonth.plan_id)
        .where(
            SupportPlan.status == "active",
            PlanMonth.month < month_start(today),
            PlanMonth.status == "awaiting_evidence",
            ~exists(select(StoredFile.id).where(StoredFile.plan_month_id == PlanMonth.id)),
        )
        .options(selectinload(PlanMonth.plan).selectinload(SupportPlan.household))
        .order_by(PlanMonth.month, PlanMonth.id)
    )
    items = []
    for month in db.session.scalars(stmt):
        last_day = (month.month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        household = month.plan.household
        items.append(
            TodoItem(
                kind="plan_month_evidence",
                title=str(
                    _l(
                        "Upload the evidence of %(plan)s for %(month)s",
                        plan=month.plan.name,
                        month=f"{month.month:%Y-%m}",
                    )
                ),
                due_on=last_day,
                is_overdue=today > last_day,
                days_overdue=max(0, (today - last_day).days),
                endpoint="plan_month.details_view",
                url_args={"id": month.id},
                household_id=household.id,
                household_label=household.head_name,
                assigned_worker_id=household.assigned_worker_id,
            )
        )
    return items
