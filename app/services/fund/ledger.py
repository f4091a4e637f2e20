"""The special fund's ledger (社会救助专项基金): its account, donations in,
disbursements out, reversals, and the check that the balance matches the ledger.

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
  household, an organisation or a person. Paying a support-plan month (see
  ``plans.pay_plan_month``) is a disbursement that also moves the month from
  "checked" to "paid", with one conditional ``UPDATE`` so only one payment wins.
- A reversal cannot itself be reversed (post a new entry instead), an entry is
  reversed at most once (unique ``reverses_id``), and reversing a donation takes the
  money out again, so it too is refused when the balance is too small. A reversal
  copies the project, household, pledge and counterparty of the entry it cancels,
  so sums per project or pledge net out by themselves. Reversing the payment of a
  support-plan month puts that month back to "checked"; it cannot be paid through
  the plan again (a month is linked to at most one ledger entry, ever) — pay it as
  an ordinary disbursement, and the anomalies page keeps showing it until then.

Transactions: every posting (``post_donation``, ``post_disbursement``,
``add_entry_evidence``, ``reverse_entry``) is one user action and commits, or rolls
back on a refusal, through ``app.services.transaction.committed``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError

from app import access
from app.extensions import db
from app.models import FundAccount, Household, LedgerEntry, PlanMonth, Pledge, Project
from app.models.base import utcnow
from app.services.files import attach_files
from app.services.transaction import committed
from app.validation import InvalidValue, normalize_money

ACCOUNT_NAME = "社会救助专项基金"
CENT = Decimal("0.01")


class NotAllowed(InvalidValue):
    """The user's role or area does not allow this; nothing was changed."""


def net_in_out():
    """(money in, money out) of one ledger row as SQL expressions, a reversal netted
    against what it reverses: a donation is money in and its reversal (out) takes it
    back; a disbursement is money out and its reversal (in) gives it back. The one
    definition every total of the fund sums (overview, budgets, dashboard, reports)."""
    money_in = case(
        (LedgerEntry.entry_type == "donation", LedgerEntry.amount_yuan),
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
    return money_in, money_out


def money(value) -> Decimal:
    """A database sum (float on SQLite, Decimal on PostgreSQL) as yuan and fen."""
    return Decimal(str(value or 0)).quantize(CENT)


def _amount(value) -> Decimal:
    amount = normalize_money(value, allow_none=False)
    if amount <= 0:
        raise InvalidValue(_l("The amount must be more than zero."))
    return amount


def signed_amount():
    """The entry's amount as SQL, positive for money in and negative for money out."""
    return case(
        (LedgerEntry.direction == "in", LedgerEntry.amount_yuan), else_=-LedgerEntry.amount_yuan
    )


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


def refresh_balance(account: FundAccount) -> None:
    """Re-read the balance on next access: the conditional UPDATEs bypass the ORM."""
    db.session.expire(account, ["balance"])


def ledger_balance(account: FundAccount | None = None) -> Decimal:
    """The balance derived from the ledger: the sum of every entry, signed."""
    account = account or get_account()
    total = db.session.scalar(
        select(func.coalesce(func.sum(signed_amount()), 0)).where(
            LedgerEntry.account_id == account.id
        )
    )
    return money(total)


def check_balance() -> tuple[Decimal, Decimal]:
    """(balance held on the account, balance summed from the ledger); equal when sound."""
    account = get_account()
    refresh_balance(account)
    return money(account.balance), ledger_balance(account)


# ----------------------------------------------------------------- donations
def pledge_received(pledge: Pledge) -> Decimal:
    """Money received for a pledge so far, net of reversals."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(signed_amount()), 0)).where(
            LedgerEntry.pledge_id == pledge.id
        )
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
    with committed():
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
        refresh_balance(account)
        return entry


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
    try:
        with committed():
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
    refresh_balance(account)
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
    with committed():
        _require_poster(user)
        stored = attach_files(files, kind=kind, ledger_entry=entry)
        if not stored:
            raise InvalidValue(_l("Choose at least one file."))
        return stored


# ------------------------------------------------------------------ reversal
def reverse_entry(entry: LedgerEntry, *, user, reason: str, posted_on: dt.date | None = None):
    """Post the entry that cancels ``entry``; see the module docstring for the rules."""
    try:
        with committed():
            return _reverse(entry, user=user, reason=reason, posted_on=posted_on)
    except IntegrityError:
        raise InvalidValue(_l("This entry has already been reversed.")) from None


def _reverse(entry: LedgerEntry, *, user, reason: str, posted_on: dt.date | None) -> LedgerEntry:
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
    refresh_balance(account)
    return reversal


def is_reversible(entry: LedgerEntry) -> bool:
    return entry.entry_type != "reversal" and entry.reversed_by is None
