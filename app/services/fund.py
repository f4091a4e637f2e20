"""The special fund (社会救助专项基金): its ledger, recurring support plans, and the
checks that watch both.

The ledger
----------
Every yuan that enters or leaves the fund is one row of ``fund_ledger``
(``LedgerEntry``); rows are never changed or deleted (a model guard and database
triggers refuse it). A mistake is corrected by a *reversing entry*: same amount,
opposite direction, pointing at the entry it cancels.

``FundAccount.balance`` is the running sum of the ledger. Each posting moves it with
ONE conditional ``UPDATE`` in the same transaction as the ledger row, so two clerks
paying at the same moment can never take the balance below zero::

    UPDATE fund_accounts SET balance = balance - :a WHERE id = :id AND balance >= :a

(no row updated → the payment is refused, showing the balance available). The CHECK
constraint ``ck_fund_accounts_balance`` is the backstop. ``ledger_balance()`` sums the
ledger itself; ``check_balance()`` (and ``flask fund-check``) compares the two.

Rules decided here
------------------
- Only the district administrator posts (``WRITE_ROLES[LedgerEntry]``).
- A donation may settle an *approved money pledge*. Its project is copied onto the
  donation (so the money is earmarked for that project and the project's street
  sees it), the donor is the pledging organisation, and the amount may not exceed
  what the pledge still owes (pledged amount − donations already received for it,
  net of reversals); several instalments are fine. ``pledge.received_on`` is set to
  the date of the donation that completes the pledge, and cleared again if a
  reversal leaves it incomplete.
- A disbursement names what it pays for (a purpose) and whom: a project, a
  household, an organisation or a person.
- A reversal cannot itself be reversed (post a new entry instead), an entry is
  reversed at most once (unique ``reverses_id``), and reversing a donation takes the
  money out again, so it too is refused when the balance is too small. A reversal
  copies the project, household, pledge and counterparty of the entry it cancels,
  so sums per project or pledge net out by themselves. Reversing the payment of a
  support-plan month puts that month back to "checked"; it cannot be paid through
  the plan again (a month is linked to at most one ledger entry, ever) — pay it as
  an ordinary disbursement, and the anomalies page keeps showing it until then.

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

Support plans
-------------
A plan (e.g. the good-neighbour plan: 450 yuan a month, 15 yuan a meal) has one
``PlanMonth`` per month. Each month: evidence is uploaded (at least one photo AND
one menu list), the units (meals) recorded, a clerk checks and accepts it, then the
district administrator pays it. The amount paid is the plan's monthly amount, or
units × unit amount when the plan counts units and units were recorded, capped at
the monthly amount.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import access
from app.extensions import db
from app.models import (
    FundAccount,
    Household,
    LedgerEntry,
    PlanMonth,
    Pledge,
    Project,
    StoredFile,
    SupportPlan,
)
from app.models.base import utcnow
from app.services.files import attach_files
from app.services.todo_item import TodoItem
from app.validation import InvalidValue, normalize_money

ACCOUNT_NAME = "社会救助专项基金"
CENT = Decimal("0.01")
#: the longest support plan we accept, in months
MAX_PLAN_MONTHS = 36


class NotAllowed(InvalidValue):
    """The user's role or area does not allow this; nothing was changed."""


def money(value) -> Decimal:
    """A database sum (float on SQLite, Decimal on PostgreSQL) as yuan and fen."""
    return Decimal(str(value or 0)).quantize(CENT)


def _amount(value) -> Decimal:
    amount = normalize_money(value, allow_none=False)
    if amount <= 0:
        raise InvalidValue(_l("The amount must be more than zero."))
    return amount


def _signed():
    return case(
        (LedgerEntry.direction == "in", LedgerEntry.amount_yuan), else_=-LedgerEntry.amount_yuan
    )


def _committed(work):
    """Run ``work`` and commit; on any error roll everything back (files included)."""
    try:
        result = work()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def _require_poster(user) -> None:
    if access.scope_of(user, narrowed=False).role not in access.WRITE_ROLES[LedgerEntry]:
        raise NotAllowed(_l("Only the district administrator posts to the special fund."))


# ------------------------------------------------------------------- account
def get_account() -> FundAccount:
    """The special fund's account (made on first use)."""
    account = db.session.scalar(select(FundAccount).order_by(FundAccount.id))
    if account is None:
        account = FundAccount(name=ACCOUNT_NAME, balance=Decimal("0"))
        db.session.add(account)
        db.session.flush()
    return account


def _add_to_balance(account_id: int, amount: Decimal) -> None:
    db.session.execute(
        update(FundAccount.__table__)
        .where(FundAccount.__table__.c.id == account_id)
        .values(balance=FundAccount.__table__.c.balance + amount)
    )


def _take_from_balance(account_id: int, amount: Decimal) -> None:
    """Take ``amount`` with one conditional UPDATE; refuse when the balance is short.

    On PostgreSQL the UPDATE locks the account row, so concurrent payments queue
    and each re-reads the balance the previous one left."""
    table = FundAccount.__table__
    result = db.session.execute(
        update(table)
        .where(table.c.id == account_id, table.c.balance >= amount)
        .values(balance=table.c.balance - amount)
    )
    if result.rowcount != 1:
        available = money(
            db.session.scalar(select(table.c.balance).where(table.c.id == account_id))
        )
        raise InvalidValue(
            _l(
                "The special fund holds only %(available)s yuan; %(amount)s yuan cannot be "
                "paid out. Nothing was posted.",
                available=f"{available:,.2f}",
                amount=f"{amount:,.2f}",
            )
        )


def _refresh_account(account: FundAccount) -> None:
    db.session.expire(account, ["balance"])


def ledger_balance(account: FundAccount | None = None) -> Decimal:
    """The balance derived from the ledger: the sum of every entry, signed."""
    account = account or get_account()
    total = db.session.scalar(
        select(func.coalesce(func.sum(_signed()), 0)).where(LedgerEntry.account_id == account.id)
    )
    return money(total)


def check_balance() -> tuple[Decimal, Decimal]:
    """(balance held on the account, balance summed from the ledger); equal when sound."""
    account = get_account()
    _refresh_account(account)
    return money(account.balance), ledger_balance(account)


# ----------------------------------------------------------------- donations
def pledge_received(pledge: Pledge) -> Decimal:
    """Money received for a pledge so far, net of reversals."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(_signed()), 0)).where(LedgerEntry.pledge_id == pledge.id)
    )
    return money(total)


def pledge_outstanding(pledge: Pledge) -> Decimal:
    return money(pledge.amount_yuan) - pledge_received(pledge)


def _update_pledge_receipt(pledge: Pledge, posted_on: dt.date | None) -> None:
    """Mark the pledge received when its money is all in; clear the mark otherwise."""
    db.session.flush()
    if pledge_outstanding(pledge) <= 0:
        pledge.received_on = pledge.received_on or posted_on
    else:
        pledge.received_on = None


def post_donation(
    *,
    user,
    amount,
    posted_on: dt.date,
    receipt_number: str | None,
    donor_organisation=None,
    donor_name: str | None = None,
    pledge: Pledge | None = None,
    project: Project | None = None,
    purpose: str | None = None,
    files=(),
) -> LedgerEntry:
    """Money in. With ``pledge`` (an approved money pledge) the donation settles it,
    in whole or in part; see the module docstring."""

    def work():
        _require_poster(user)
        value = _amount(amount)
        receipt = (receipt_number or "").strip()
        if not receipt:
            raise InvalidValue(_l("Enter the receipt number of the donation."))
        if posted_on is None:
            raise InvalidValue(_l("Enter the date of the donation."))
        donor = donor_organisation
        target = project
        if pledge is not None:
            if pledge.kind != "money" or pledge.status != "approved":
                raise InvalidValue(
                    _l("Only an approved money pledge can be received as a donation.")
                )
            # lock the pledge (PostgreSQL) so two instalments cannot both fit
            db.session.execute(select(Pledge.id).where(Pledge.id == pledge.id).with_for_update())
            outstanding = pledge_outstanding(pledge)
            if value > outstanding:
                raise InvalidValue(
                    _l(
                        "This pledge still owes %(owed)s yuan; a donation of %(amount)s yuan "
                        "is more than that.",
                        owed=f"{outstanding:,.2f}",
                        amount=f"{value:,.2f}",
                    )
                )
            if donor is not None and donor.id != pledge.organisation_id:
                raise InvalidValue(_l("The donor must be the organisation that pledged."))
            if target is not None and target.id != pledge.project_id:
                raise InvalidValue(_l("The project must be the pledged project."))
            donor, target = pledge.organisation, pledge.project
        if donor is None and not (donor_name or "").strip():
            raise InvalidValue(_l("Name the donor: an organisation or a person."))
        account = get_account()
        _add_to_balance(account.id, value)
        entry = LedgerEntry(
            account=account,
            entry_type="donation",
            direction="in",
            amount_yuan=value,
            posted_on=posted_on,
            posted_by_id=user.id,
            receipt_number=receipt[:40],
            purpose=(purpose or "").strip() or None,
            donor_organisation=donor,
            donor_name=(donor_name or "").strip()[:60] or None,
            pledge=pledge,
            project=target,
        )
        db.session.add(entry)
        attach_files(files, kind="receipt", ledger_entry=entry)
        if pledge is not None:
            _update_pledge_receipt(pledge, posted_on)
        db.session.flush()
        _refresh_account(account)
        return entry

    return _committed(work)


# ------------------------------------------------------------- disbursements
def _visible_or_refuse(model, obj, user):
    if obj is None:
        return None
    found = db.session.scalar(access.visible(model, user).where(model.id == obj.id))
    if found is None:
        raise NotAllowed(_l("You can only save records within your own area."))
    return found


def post_disbursement(
    *,
    user,
    amount,
    posted_on: dt.date,
    purpose: str,
    project: Project | None = None,
    household: Household | None = None,
    payee_organisation=None,
    payee_person: str | None = None,
    plan_month: PlanMonth | None = None,
    receipt_number: str | None = None,
    files=(),
    file_kind: str = "receipt",
) -> LedgerEntry:
    """Money out, for a purpose, to a project, a household or a provider. Refused
    (nothing written) when the fund holds less than ``amount``."""

    def work():
        return _disburse(
            user=user,
            amount=amount,
            posted_on=posted_on,
            purpose=purpose,
            project=project,
            household=household,
            payee_organisation=payee_organisation,
            payee_person=payee_person,
            plan_month=plan_month,
            receipt_number=receipt_number,
            files=files,
            file_kind=file_kind,
        )

    try:
        return _committed(work)
    except IntegrityError:
        # the unique plan_month_id: another payment of this month got there first
        raise InvalidValue(_l("This month has already been paid.")) from None


def _disburse(
    *,
    user,
    amount,
    posted_on,
    purpose,
    project,
    household,
    payee_organisation,
    payee_person,
    plan_month,
    receipt_number,
    files,
    file_kind,
) -> LedgerEntry:
    _require_poster(user)
    value = _amount(amount)
    purpose = (purpose or "").strip()
    if not purpose:
        raise InvalidValue(_l("Say what the money is for."))
    if posted_on is None:
        raise InvalidValue(_l("Enter the date of the payment."))
    payee_person = (payee_person or "").strip()[:40] or None
    if not (project or household or payee_organisation or payee_person):
        raise InvalidValue(_l("Name whom the money goes to: a project, a household or a payee."))
    _visible_or_refuse(Project, project, user)
    _visible_or_refuse(Household, household, user)
    if plan_month is not None:
        _claim_month_for_payment(plan_month)
    account = get_account()
    _take_from_balance(account.id, value)
    entry = LedgerEntry(
        account=account,
        entry_type="disbursement",
        direction="out",
        amount_yuan=value,
        posted_on=posted_on,
        posted_by_id=user.id,
        receipt_number=(receipt_number or "").strip()[:40] or None,
        purpose=purpose,
        project=project,
        household=household,
        payee_organisation=payee_organisation,
        payee_person=payee_person,
        plan_month=plan_month,
    )
    db.session.add(entry)
    attach_files(files, kind=file_kind, ledger_entry=entry)
    db.session.flush()
    _refresh_account(account)
    return entry


def _claim_month_for_payment(month: PlanMonth) -> None:
    """checked → paid with one conditional UPDATE: only one payment wins."""
    if month.status != "paid" and month.payment is not None:
        raise InvalidValue(
            _l(
                "This month's payment was reversed; a month is paid through its plan only "
                "once, so post its payment as an ordinary disbursement."
            )
        )
    if month.status == "paid":
        raise InvalidValue(_l("This month has already been paid."))
    if month.status != "checked" or not month.is_evidence_accepted:
        raise InvalidValue(
            _l("This month's evidence has not been checked and accepted; it cannot be paid yet.")
        )
    table = PlanMonth.__table__
    result = db.session.execute(
        update(table)
        .where(table.c.id == month.id, table.c.status == "checked")
        .values(status="paid", updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise InvalidValue(_l("This month has already been paid."))
    db.session.expire(month, ["status", "updated_at"])


def add_entry_evidence(entry: LedgerEntry, *, user, files, kind: str = "receipt") -> list:
    """Attach evidence to a posted entry (the entry itself is not changed)."""

    def work():
        _require_poster(user)
        stored = attach_files(files, kind=kind, ledger_entry=entry)
        if not stored:
            raise InvalidValue(_l("Choose at least one file."))
        return stored

    return _committed(work)


# ------------------------------------------------------------------ reversal
def reverse_entry(entry: LedgerEntry, *, user, reason: str, posted_on: dt.date | None = None):
    """Post the entry that cancels ``entry``; see the module docstring for the rules."""

    def work():
        _require_poster(user)
        why = (reason or "").strip()
        if not why:
            raise InvalidValue(_l("Give the reason for the reversal."))
        if entry.entry_type == "reversal":
            raise InvalidValue(
                _l("A reversal cannot be reversed; post a new donation or disbursement instead.")
            )
        if db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry.id)):
            raise InvalidValue(_l("This entry has already been reversed."))
        account = get_account()
        direction = "out" if entry.direction == "in" else "in"
        if direction == "out":
            _take_from_balance(entry.account_id, entry.amount_yuan)
        else:
            _add_to_balance(entry.account_id, entry.amount_yuan)
        reversal = LedgerEntry(
            account_id=entry.account_id,
            entry_type="reversal",
            direction=direction,
            amount_yuan=entry.amount_yuan,
            posted_on=posted_on or dt.date.today(),
            posted_by_id=user.id,
            receipt_number=entry.receipt_number,
            purpose=why,
            donor_organisation_id=entry.donor_organisation_id,
            donor_name=entry.donor_name,
            pledge_id=entry.pledge_id,
            project_id=entry.project_id,
            household_id=entry.household_id,
            payee_organisation_id=entry.payee_organisation_id,
            payee_person=entry.payee_person,
            reverses=entry,
        )
        db.session.add(reversal)
        if entry.plan_month_id is not None:
            table = PlanMonth.__table__
            db.session.execute(
                update(table)
                .where(table.c.id == entry.plan_month_id, table.c.status == "paid")
                .values(status="checked", updated_at=utcnow())
            )
            month = db.session.get(PlanMonth, entry.plan_month_id)
            db.session.expire(month, ["status", "updated_at"])
        db.session.flush()
        if entry.pledge is not None:
            _update_pledge_receipt(entry.pledge, None)
        _refresh_account(account)
        return reversal

    try:
        return _committed(work)
    except IntegrityError:
        raise InvalidValue(_l("This entry has already been reversed.")) from None


def is_reversible(entry: LedgerEntry) -> bool:
    return entry.entry_type != "reversal" and entry.reversed_by is None


# ------------------------------------------------------------- support plans
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

    def work():
        if not (name or "").strip():
            raise InvalidValue(_l("Give the plan a name."))
        if household is None:
            raise InvalidValue(_l("Choose the household the plan supports."))
        with db.session.no_autoflush:
            plan = _new_plan()
            allowed = access.can_write_row(plan, user)
        if not allowed:
            raise NotAllowed(_l("You can only save records within your own area."))
        plan.check_consistency()
        db.session.add(plan)
        sync_plan_months(plan)
        attach_files(agreement_files, kind="agreement", support_plan=plan)
        db.session.flush()
        return plan

    def _new_plan():
        return SupportPlan(
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

    return _committed(work)


def _require_month_writer(month: PlanMonth, user) -> None:
    if not access.can_write_row(month, user):
        raise NotAllowed(_l("You can only save records within your own area."))


def month_evidence_kinds(month: PlanMonth) -> set[str]:
    return {f.kind for f in month.files}


def upload_month_evidence(
    month: PlanMonth, *, user, photos=(), menus=(), units: int | None = None
) -> list:
    """Meal photos and the menu list of one month (and the units delivered)."""

    def work():
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

    return _committed(work)


def check_month(month: PlanMonth, *, user, accept: bool, note: str | None = None) -> PlanMonth:
    """A clerk (of the household's street, or the district administrator) checks a
    month's evidence. Accepting needs at least one photo and one menu list;
    returning it (not accepted) needs a note saying what is missing."""

    def work():
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

    return _committed(work)


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


# --------------------------------------------------------------- the position
def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _scoped(model, user, stmt):
    """``stmt`` narrowed to the user's rows; ``user=None`` means the whole fund."""
    return stmt if user is None else access.visible(model, user, stmt)


def project_earmarks(user) -> list[tuple[Project, Decimal]]:
    """Per project (visible to ``user``; all when None): received for it minus paid to it, net of reversals, > 0."""
    net = (
        select(LedgerEntry.project_id, func.sum(_signed()).label("net"))
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
    money_in = case(
        (
            and_(LedgerEntry.entry_type == "donation"),
            LedgerEntry.amount_yuan,
        ),
        (
            and_(LedgerEntry.entry_type == "reversal", LedgerEntry.direction == "out"),
            -LedgerEntry.amount_yuan,
        ),
        else_=0,
    )
    money_out = case(
        (LedgerEntry.entry_type == "disbursement", LedgerEntry.amount_yuan),
        (
            and_(LedgerEntry.entry_type == "reversal", LedgerEntry.direction == "in"),
            -LedgerEntry.amount_yuan,
        ),
        else_=0,
    )
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
    _refresh_account(account)
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
    paid = case(
        (LedgerEntry.entry_type == "disbursement", LedgerEntry.amount_yuan),
        (
            and_(LedgerEntry.entry_type == "reversal", LedgerEntry.direction == "in"),
            -LedgerEntry.amount_yuan,
        ),
        else_=0,
    )
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
