"""Sponsorship and the special fund (社会救助专项基金).

- ``Pledge``: a sponsor's offer of money or in-kind support to a project. Pending and
  approved pledges reserve part of the project's budget (``Project.pledged_total``);
  a CHECK constraint keeps that total within the budget, so no over-pledge is ever
  stored, whatever runs concurrently.
- ``LedgerEntry``: the special fund's ledger. Rows are never changed or deleted once
  posted; a mistake is corrected by a reversing entry. ``FundAccount.balance`` is the
  running sum of the ledger, kept in the same transaction as each posting and held
  at zero or above by a CHECK constraint.
- ``SupportPlan`` / ``PlanMonth``: recurring support such as the good-neighbour plan
  (睦邻计划), paid month by month once that month's evidence is checked.

The rules live in ``app/services/sponsorship.py`` and ``app/services/fund.py``.
"""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DDL,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db
from app.models.base import TrackedMixin, utcnow
from app.models.choices import (
    LEDGER_DIRECTIONS,
    LEDGER_ENTRY_TYPES,
    PLAN_MONTH_STATUSES,
    PLEDGE_KINDS,
    PLEDGE_STATUSES,
    SUPPORT_PLAN_STATUSES,
    check_in,
)
from app.models.household import HouseholdPartMixin
from app.validation import (
    InvalidValue,
    check_not_future,
    format_yuan,
    normalize_money,
    normalize_phone,
)


class Pledge(TrackedMixin, db.Model):
    """A sponsor's pledge (认领) of money or in-kind support to a project."""

    __tablename__ = "pledges"
    __table_args__ = (
        CheckConstraint(check_in("kind", PLEDGE_KINDS), name="kind"),
        CheckConstraint(check_in("status", PLEDGE_STATUSES), name="status"),
        CheckConstraint("amount_yuan > 0", name="amount"),
        Index("ix_pledges_project_status", "project_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="RESTRICT"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    #: copied from the project, for scoping
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="money")
    #: money, or the value in yuan of in-kind support
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    in_kind_description: Mapped[str | None] = mapped_column(Text)
    #: what the sponsor wrote with the pledge
    sponsor_note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    pledged_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    #: when the money (or the goods) arrived; money arrives as a donation in the ledger
    received_on: Mapped[dt.date | None] = mapped_column(Date)

    project: Mapped["Project"] = relationship(back_populates="pledges")  # noqa: F821
    organisation: Mapped["Organisation"] = relationship()  # noqa: F821
    decided_by: Mapped["User | None"] = relationship(foreign_keys=[decided_by_id])  # noqa: F821
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    @validates("amount_yuan")
    def _check_amount(self, _key, value):
        amount = normalize_money(value, allow_none=False)
        if amount <= 0:
            raise InvalidValue(_l("The amount must be more than zero."))
        return amount

    def __str__(self) -> str:
        return f"{self.organisation} · {format_yuan(self.amount_yuan)}"


class FundAccount(db.Model):
    """The special fund's running balance: the sum of its ledger, updated in the same
    transaction as every posting, never below zero (CHECK)."""

    __tablename__ = "fund_accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    balance: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))

    def __str__(self) -> str:
        return self.name


class LedgerEntry(db.Model):
    """One posting in the special fund's ledger; immutable once written."""

    __tablename__ = "fund_ledger"
    __table_args__ = (
        CheckConstraint(check_in("entry_type", LEDGER_ENTRY_TYPES), name="entry_type"),
        CheckConstraint(check_in("direction", LEDGER_DIRECTIONS), name="direction"),
        CheckConstraint("amount_yuan > 0", name="amount"),
        CheckConstraint(
            "entry_type <> 'reversal' OR reverses_id IS NOT NULL", name="reversal_target"
        ),
        CheckConstraint("entry_type <> 'donation' OR direction = 'in'", name="donation_in"),
        CheckConstraint(
            "entry_type <> 'disbursement' OR direction = 'out'", name="disbursement_out"
        ),
        Index("ix_fund_ledger_posted_on", "posted_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("fund_accounts.id", ondelete="RESTRICT"))
    entry_type: Mapped[str] = mapped_column(String(16), index=True)
    direction: Mapped[str] = mapped_column(String(4))
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: the date on the receipt or the payment order
    posted_on: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)
    posted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    receipt_number: Mapped[str | None] = mapped_column(String(40))
    purpose: Mapped[str | None] = mapped_column(Text)

    # money in: who gave it
    donor_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    #: an individual donor's name
    donor_name: Mapped[str | None] = mapped_column(String(60))
    pledge_id: Mapped[int | None] = mapped_column(
        ForeignKey("pledges.id", ondelete="RESTRICT"), index=True
    )

    # money out: to whom and for what
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="RESTRICT"), index=True
    )
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="RESTRICT"), index=True
    )
    payee_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    #: a named payee (the neighbour of the good-neighbour plan)
    payee_person: Mapped[str | None] = mapped_column(String(40))
    plan_month_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_plan_months.id", ondelete="RESTRICT"), unique=True
    )

    #: the entry this one reverses; an entry is reversed at most once
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("fund_ledger.id", ondelete="RESTRICT"), unique=True
    )

    #: derived from the project or household paid, for scoping; null = district level
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)

    account: Mapped[FundAccount] = relationship()
    posted_by: Mapped["User | None"] = relationship(foreign_keys=[posted_by_id])  # noqa: F821
    donor_organisation: Mapped["Organisation | None"] = relationship(  # noqa: F821
        foreign_keys=[donor_organisation_id]
    )
    payee_organisation: Mapped["Organisation | None"] = relationship(  # noqa: F821
        foreign_keys=[payee_organisation_id]
    )
    pledge: Mapped["Pledge | None"] = relationship()
    project: Mapped["Project | None"] = relationship()  # noqa: F821
    household: Mapped["Household | None"] = relationship()  # noqa: F821
    plan_month: Mapped["PlanMonth | None"] = relationship(
        back_populates="payment", foreign_keys=[plan_month_id]
    )
    reverses: Mapped["LedgerEntry | None"] = relationship(
        remote_side=[id], foreign_keys=[reverses_id], back_populates="reversed_by"
    )
    reversed_by: Mapped["LedgerEntry | None"] = relationship(
        back_populates="reverses", foreign_keys=[reverses_id], uselist=False
    )
    files: Mapped[list["StoredFile"]] = relationship(  # noqa: F821
        back_populates="ledger_entry", order_by="StoredFile.id"
    )
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    @validates("posted_on")
    def _check_posted_on(self, _key, value):
        """A receipt or payment order is dated today or earlier: a posting can never be
        edited, so a date in the future would stay wrong for good."""
        if value is None:
            raise InvalidValue(_l("Enter the date of the receipt or payment order."))
        return check_not_future(value)

    @property
    def signed_amount(self) -> Decimal:
        return self.amount_yuan if self.direction == "in" else -self.amount_yuan

    @property
    def counterparty(self) -> str:
        for value in (
            self.donor_organisation,
            self.donor_name,
            self.payee_organisation,
            self.payee_person,
        ):
            if value:
                return str(value)
        return ""

    def __str__(self) -> str:
        return f"#{self.id} {self.posted_on:%Y-%m-%d} {format_yuan(self.signed_amount)}"


class SupportPlan(HouseholdPartMixin, TrackedMixin, db.Model):
    """Recurring support paid monthly against evidence, like the good-neighbour plan:
    450 yuan a month to a neighbour who cooks lunch for a household, 15 yuan a meal."""

    __tablename__ = "support_plans"
    __table_args__ = (
        CheckConstraint(check_in("status", SUPPORT_PLAN_STATUSES), name="status"),
        CheckConstraint("monthly_amount > 0", name="monthly_amount"),
        CheckConstraint("unit_amount IS NULL OR unit_amount > 0", name="unit_amount"),
        CheckConstraint("ends_on >= starts_on", name="dates"),
        CheckConstraint(
            "payee_organisation_id IS NOT NULL OR payee_person IS NOT NULL", name="payee"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="RESTRICT"), index=True
    )
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    payee_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    payee_person: Mapped[str | None] = mapped_column(String(40))
    payee_phone: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    monthly_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: the price of one unit of help (15 yuan a meal), when the plan counts units
    unit_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    unit: Mapped[str | None] = mapped_column(String(16))
    #: first day of the first month, first day of the last month
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)

    household: Mapped["Household"] = relationship(back_populates="support_plans")  # noqa: F821
    project: Mapped["Project | None"] = relationship()  # noqa: F821
    payee_organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    months: Mapped[list["PlanMonth"]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="PlanMonth.month"
    )
    files: Mapped[list["StoredFile"]] = relationship(  # noqa: F821
        back_populates="support_plan", cascade="all, delete-orphan", order_by="StoredFile.id"
    )
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    @validates("monthly_amount", "unit_amount")
    def _check_amount(self, key, value):
        amount = normalize_money(value, allow_none=key == "unit_amount")
        if amount is not None and amount <= 0:
            raise InvalidValue(_l("The amount must be more than zero."))
        return amount

    @validates("payee_phone")
    def _check_phone(self, _key, value):
        return normalize_phone(value) if value else None

    @validates("starts_on", "ends_on")
    def _first_of_month(self, _key, value):
        return value.replace(day=1) if value is not None else None

    @property
    def payee_name(self) -> str:
        return str(self.payee_organisation or self.payee_person or "")

    def check_consistency(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise InvalidValue(_l("The end date is before the start date."))
        if self.payee_organisation is None and self.payee_organisation_id is None:
            if not self.payee_person:
                raise InvalidValue(_l("Name the payee: an organisation or a person."))

    def __str__(self) -> str:
        return self.name


class PlanMonth(HouseholdPartMixin, TrackedMixin, db.Model):
    """One month of a support plan: its evidence, its check, its payment."""

    __tablename__ = "support_plan_months"
    __table_args__ = (
        CheckConstraint(check_in("status", PLAN_MONTH_STATUSES), name="status"),
        CheckConstraint("units IS NULL OR units >= 0", name="units"),
        UniqueConstraint("plan_id", "month", name="uq_support_plan_months_plan_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("support_plans.id", ondelete="CASCADE"), index=True
    )
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="RESTRICT"), index=True
    )
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    #: the first day of the month
    month: Mapped[dt.date] = mapped_column(Date, index=True)
    #: meals (or other units) delivered that month, from the menu list
    units: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="awaiting_evidence", index=True)
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    check_note: Mapped[str | None] = mapped_column(Text)
    #: set when staff find the evidence fits the plan (menu matches meals, photos real)
    is_evidence_accepted: Mapped[bool] = mapped_column(Boolean, default=False)

    plan: Mapped[SupportPlan] = relationship(back_populates="months")
    household: Mapped["Household"] = relationship()  # noqa: F821
    checked_by: Mapped["User | None"] = relationship(foreign_keys=[checked_by_id])  # noqa: F821
    payment: Mapped["LedgerEntry | None"] = relationship(
        back_populates="plan_month", foreign_keys=[LedgerEntry.plan_month_id], uselist=False
    )
    files: Mapped[list["StoredFile"]] = relationship(  # noqa: F821
        back_populates="plan_month", cascade="all, delete-orphan", order_by="StoredFile.id"
    )
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    def resolved_household(self):
        plan = self.plan
        if plan is None and self.plan_id is not None:
            plan = db.session.get(SupportPlan, self.plan_id)
        if plan is not None:
            household = plan.resolved_household()
            if household is not None:
                self.household = household
            return household
        return super().resolved_household()

    @validates("month")
    def _first_of_month(self, _key, value):
        return value.replace(day=1) if value is not None else None

    def __str__(self) -> str:
        return f"{self.plan} · {self.month:%Y-%m}"


# Posted ledger rows are immutable in the database too, whatever client writes: the
# same triggers are made by ``db.create_all()`` (here) and by the migration
# ``d4b7e2a91c05``. The ORM guard in ``app/models/__init__.py`` gives the friendly
# message; these stop direct SQL.
LEDGER_IMMUTABLE_MESSAGE = "fund_ledger rows are immutable; post a reversing entry"
SQLITE_LEDGER_TRIGGERS = [
    f"CREATE TRIGGER fund_ledger_no_{op.lower()} BEFORE {op} ON fund_ledger "
    f"BEGIN SELECT RAISE(ABORT, '{LEDGER_IMMUTABLE_MESSAGE}'); END"
    for op in ("UPDATE", "DELETE")
]
POSTGRESQL_LEDGER_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION fund_ledger_immutable() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{LEDGER_IMMUTABLE_MESSAGE}' USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "CREATE TRIGGER fund_ledger_immutable BEFORE UPDATE OR DELETE ON fund_ledger "
    "FOR EACH ROW EXECUTE FUNCTION fund_ledger_immutable()",
    # row triggers do not fire on TRUNCATE (not even ``TRUNCATE ... CASCADE`` from a
    # parent table): a statement-level trigger refuses it (migration f3c8a6d2e915)
    "CREATE TRIGGER fund_ledger_no_truncate BEFORE TRUNCATE ON fund_ledger "
    "FOR EACH STATEMENT EXECUTE FUNCTION fund_ledger_immutable()",
]
for _statement in SQLITE_LEDGER_TRIGGERS:
    event.listen(
        LedgerEntry.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite")
    )
for _statement in POSTGRESQL_LEDGER_TRIGGERS:
    event.listen(
        LedgerEntry.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )
