"""Support plans (帮扶计划) of the special fund: recurring support paid month by month.

A plan (e.g. the good-neighbour plan: 450 yuan a month, 15 yuan a meal) has one
``PlanMonth`` per month from its first to its last month (at most
``MAX_PLAN_MONTHS``). Each month: evidence is uploaded (at least one photo AND one menu
list), the units (meals) recorded, a clerk checks and accepts it, then the district
administrator pays it. The amount paid is the plan's monthly amount, or units × unit
amount when the plan counts units and units were recorded, capped at the monthly
amount. Paying is a ledger disbursement (``ledger.post_disbursement``), which claims
the month with one conditional ``UPDATE`` so that only one payment wins.

A plan whose months have evidence or payments is history: it can be cancelled, not
deleted, and not shortened past or moved away from those months.

Transactions: ``create_plan``, ``upload_month_evidence``, ``check_month`` and
``pay_plan_month`` are user actions and commit (``app.services.transaction``);
``sync_plan_months`` and ``check_plan_deletable`` are building blocks that the plan
form's save calls before Flask-Admin commits.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from app import access
from app.extensions import db
from app.models import Household, LedgerEntry, PlanMonth, Project, SupportPlan
from app.models.base import utcnow
from app.services.files import attach_files
from app.services.fund.ledger import NotAllowed, money, post_disbursement
from app.services.transaction import committed
from app.validation import InvalidValue

#: the longest support plan we accept, in months
MAX_PLAN_MONTHS = 36


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return months


def check_plan_deletable(plan: SupportPlan) -> None:
    """A plan whose months have evidence or payments is history: cancel it instead."""
    if plan.files or any(m.files or m.payment is not None for m in plan.months):
        raise InvalidValue(
            _l("A plan with evidence or payments cannot be deleted; cancel it instead.")
        )


def sync_plan_months(plan: SupportPlan) -> None:
    """One ``PlanMonth`` per month from ``starts_on`` to ``ends_on``: missing months
    are added; months outside the range are removed if nothing happened in them yet,
    otherwise the change is refused. Months follow the plan's household only while
    nothing happened in them either."""
    if plan.starts_on is None or plan.ends_on is None:
        raise InvalidValue(_l("Enter the first and the last month of the plan."))
    if plan.ends_on < plan.starts_on:
        raise InvalidValue(_l("The end date is before the start date."))
    wanted = _months(plan.starts_on, plan.ends_on)
    if len(wanted) > MAX_PLAN_MONTHS:
        raise InvalidValue(_l("A support plan runs at most %(n)s months.", n=MAX_PLAN_MONTHS))
    have = {m.month: m for m in plan.months}
    for month, row in have.items():
        if month not in wanted:
            if row.status != "awaiting_evidence" or row.files or row.payment is not None:
                raise InvalidValue(
                    _l(
                        "The month %(month)s already has evidence or a payment; the plan "
                        "cannot be shortened past it.",
                        month=f"{month:%Y-%m}",
                    )
                )
            plan.months.remove(row)
    household = plan.resolved_household()
    for row in plan.months:
        if household is not None and row.household_id not in (None, household.id):
            # the plan now supports another household: months without evidence follow
            if row.files or row.payment is not None or row.status != "awaiting_evidence":
                raise InvalidValue(
                    _l(
                        "This plan already has evidence or payments; it cannot move to "
                        "another household. End it and make a new plan."
                    )
                )
            row.household = household
    for month in wanted:
        if month not in have:
            plan.months.append(PlanMonth(month=month, household=household))


def create_plan(
    *,
    user,
    household: Household,
    name: str,
    monthly_amount,
    starts_on: dt.date,
    ends_on: dt.date,
    payee_organisation=None,
    payee_person: str | None = None,
    payee_phone: str | None = None,
    unit_amount=None,
    unit: str | None = None,
    project: Project | None = None,
    description: str | None = None,
    agreement_files=(),
) -> SupportPlan:
    """A recurring support plan with its months and its three-party agreement."""
    with committed():
        if not (name or "").strip():
            raise InvalidValue(_l("Give the plan a name."))
        if household is None:
            raise InvalidValue(_l("Choose the household the plan supports."))
        # the new plan joins the session through its household; checking access must
        # not flush it half-checked
        with db.session.no_autoflush:
            plan = SupportPlan(
                name=name.strip(),
                household=household,
                project=project,
                payee_organisation=payee_organisation,
                payee_person=(payee_person or "").strip() or None,
                payee_phone=payee_phone or None,
                description=description,
                monthly_amount=monthly_amount,
                unit_amount=unit_amount,
                unit=unit,
                starts_on=starts_on,
                ends_on=ends_on,
                status="active",
            )
            allowed = access.can_write_row(plan, user)
        if not allowed:
            raise NotAllowed(_l("You can only save records within your own area."))
        plan.check_consistency()
        db.session.add(plan)
        sync_plan_months(plan)
        attach_files(agreement_files, kind="agreement", support_plan=plan)
        db.session.flush()
        return plan


def _require_month_writer(month: PlanMonth, user) -> None:
    if not access.can_write_row(month, user):
        raise NotAllowed(_l("You can only save records within your own area."))


def month_evidence_kinds(month: PlanMonth) -> set[str]:
    return {f.kind for f in month.files}


def upload_month_evidence(
    month: PlanMonth, *, user, photos=(), menus=(), units: int | None = None
) -> list:
    """Meal photos and the menu list of one month (and the units delivered)."""
    with committed():
        _require_month_writer(month, user)
        if month.status in ("checked", "paid"):
            raise InvalidValue(_l("This month's evidence has been checked; it is closed."))
        stored = attach_files(photos, kind="photo", plan_month=month)
        stored += attach_files(menus, kind="menu", plan_month=month)
        if units is not None:
            if units < 0 or units > 1000:
                raise InvalidValue(_l("Enter the number of units delivered (0 to 1000)."))
            month.units = units
        if not stored and units is None:
            raise InvalidValue(_l("Choose at least one file."))
        if stored or month.files:
            month.status = "evidence_uploaded"
        return stored


def check_month(month: PlanMonth, *, user, accept: bool, note: str | None = None) -> PlanMonth:
    """A clerk (of the household's street, or the district administrator) checks a
    month's evidence. Accepting needs at least one photo and one menu list;
    returning it (not accepted) needs a note saying what is missing."""
    with committed():
        plan = month.plan
        if access.scope_of(user, narrowed=False).role not in access.WRITE_ROLES[SupportPlan]:
            raise NotAllowed(
                _l("Only a street clerk or the district administrator checks evidence.")
            )
        if not access.can_write_row(plan, user):
            raise NotAllowed(_l("You can only save records within your own area."))
        if month.status in ("checked", "paid"):
            raise InvalidValue(_l("This month's evidence has already been checked."))
        text = (note or "").strip() or None
        if accept:
            kinds = month_evidence_kinds(month)
            if "photo" not in kinds or "menu" not in kinds:
                raise InvalidValue(
                    _l("A month needs at least one photo and one menu list before it is checked.")
                )
            month.status = "checked"
            month.is_evidence_accepted = True
        else:
            if not text:
                raise InvalidValue(_l("Say what is missing or wrong in the evidence."))
            month.is_evidence_accepted = False
        month.check_note = text
        month.checked_at = utcnow()
        month.checked_by_id = user.id
        return month


def month_amount(month: PlanMonth) -> Decimal:
    """What a month pays: units × unit amount when the plan counts units and units
    were recorded, never more than the monthly amount; else the monthly amount."""
    plan = month.plan
    monthly = money(plan.monthly_amount)
    if plan.unit_amount is not None and month.units is not None:
        return min(monthly, money(plan.unit_amount * month.units))
    return monthly


def pay_plan_month(
    month: PlanMonth, *, user, posted_on: dt.date, receipt_number: str | None = None, files=()
) -> LedgerEntry:
    """Pay one checked month to the plan's payee (district administrator only)."""
    plan = month.plan
    if plan.status == "cancelled":
        raise InvalidValue(_l("This plan is cancelled; its months are not paid."))
    amount = month_amount(month)
    if amount <= 0:
        raise InvalidValue(_l("No units were delivered this month; there is nothing to pay."))
    return post_disbursement(
        user=user,
        amount=amount,
        posted_on=posted_on,
        purpose=f"{plan.name} · {month.month:%Y-%m}",
        project=plan.project,
        household=plan.household,
        payee_organisation=plan.payee_organisation,
        payee_person=plan.payee_person,
        plan_month=month,
        receipt_number=receipt_number,
        files=files,
    )
