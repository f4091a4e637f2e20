"""Casework (个案): case status history, home-visit assessments, needs matched to
resources, and the services delivered (服务记录).

Every row here belongs to one household and carries a copy of its street and
community (``HouseholdPartMixin``), so it is scoped and filtered like the household.
The rules that move these rows (allowed transitions, matching, capacity) live in
``app/services/casework.py``.
"""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db
from app.models.base import TrackedMixin, utcnow
from app.models.choices import HOUSEHOLD_STATUSES, MATCH_STATUSES, NEED_DIMENSIONS, check_in
from app.models.household import HouseholdPartMixin
from app.models.need import Need
from app.validation import InvalidValue, check_not_future, normalize_money, normalize_phone

#: one severity column per dimension of NEED_DIMENSIONS
SEVERITY_COLUMNS = tuple(f"severity_{value}" for value, _label in NEED_DIMENSIONS)


class CaseTransition(HouseholdPartMixin, TrackedMixin, db.Model):
    """One move of a case's status: who, when, from, to, and why."""

    __tablename__ = "case_transitions"
    __table_args__ = (
        CheckConstraint(check_in("from_status", HOUSEHOLD_STATUSES), name="from_status"),
        CheckConstraint(check_in("to_status", HOUSEHOLD_STATUSES), name="to_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    #: who made the move (also outside a request: the CLI names its user)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    household: Mapped["Household"] = relationship(back_populates="transitions")  # noqa: F821
    actor: Mapped["User | None"] = relationship(foreign_keys=[actor_id])  # noqa: F821
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)


class Assessment(HouseholdPartMixin, TrackedMixin, db.Model):
    """A home visit (入户评估): what the worker found, and how severe each of the five
    dimensions is, 1 (slight) to 5 (severe)."""

    __tablename__ = "assessments"
    __table_args__ = tuple(
        CheckConstraint(f"{name} BETWEEN 1 AND 5", name=name) for name in SEVERITY_COLUMNS
    ) + (Index("ix_assessments_household_date", "household_id", "visit_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    visit_date: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)
    visiting_worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    findings: Mapped[str] = mapped_column(Text)
    severity_physiological: Mapped[int] = mapped_column(Integer)
    severity_psychological: Mapped[int] = mapped_column(Integer)
    severity_social: Mapped[int] = mapped_column(Integer)
    severity_daily_living: Mapped[int] = mapped_column(Integer)
    severity_employment: Mapped[int] = mapped_column(Integer)
    living_conditions: Mapped[str | None] = mapped_column(Text)
    #: benefits the household already receives, as found on the visit
    benefits_found: Mapped[str | None] = mapped_column(Text)

    household: Mapped["Household"] = relationship(back_populates="assessments")  # noqa: F821
    visiting_worker: Mapped["User | None"] = relationship(  # noqa: F821
        foreign_keys=[visiting_worker_id]
    )
    needs: Mapped[list["Need"]] = relationship(  # noqa: F821
        back_populates="assessment", order_by="Need.id"
    )
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    @validates("visit_date")
    def _check_date(self, _key, value):
        return check_not_future(value)

    @validates(*SEVERITY_COLUMNS)
    def _check_severity(self, _key, value):
        if value is None or not 1 <= int(value) <= 5:
            raise InvalidValue(_l("Severity is a whole number from 1 to 5."))
        return int(value)

    @staticmethod
    def check_visit_after_intake(household, visit_date) -> None:
        """A visit cannot come before the household reached the programme."""
        if household is not None and household.intake_date and visit_date:
            if visit_date < household.intake_date:
                raise InvalidValue(_l("The visit cannot be before the household's intake date."))

    def check_consistency(self) -> None:
        self.check_visit_after_intake(self.resolved_household(), self.visit_date)

    @property
    def severities(self) -> dict[str, int]:
        """dimension value → severity."""
        return {value: getattr(self, f"severity_{value}") for value, _ in NEED_DIMENSIONS}

    def __str__(self) -> str:
        return f"{self.visit_date:%Y-%m-%d}"


class NeedMatch(HouseholdPartMixin, TrackedMixin, db.Model):
    """A need linked to the resource that meets it. While active it uses
    ``quantity`` of the resource's capacity (``Resource.used_quantity``)."""

    __tablename__ = "need_matches"
    __table_args__ = (
        CheckConstraint(check_in("status", MATCH_STATUSES), name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        UniqueConstraint("need_id", "resource_id", name="uq_need_matches_need_resource"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="RESTRICT"), index=True
    )
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("1"))
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    #: why it was suggested or chosen, as shown to the worker
    reason: Mapped[str | None] = mapped_column(Text)
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    need: Mapped["Need"] = relationship(back_populates="matches")  # noqa: F821
    resource: Mapped["Resource"] = relationship(back_populates="matches")  # noqa: F821
    household: Mapped["Household"] = relationship()  # noqa: F821
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    @validates("quantity")
    def _check_quantity(self, _key, value):
        return normalize_money(value, allow_none=False)

    def resolved_household(self):
        need = self.need
        if need is None and self.need_id is not None:
            need = db.session.get(Need, self.need_id)
        household = need.resolved_household() if need is not None else None
        if household is not None:
            self.household = household
        return household

    def __str__(self) -> str:
        return f"{self.need} → {self.resource}"


service_record_needs = Table(
    "service_record_needs",
    db.metadata,
    Column(
        "service_record_id", ForeignKey("service_records.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("need_id", ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True),
)


class ServiceRecord(HouseholdPartMixin, TrackedMixin, db.Model):
    """A piece of help delivered (服务记录), with its evidence files."""

    __tablename__ = "service_records"
    __table_args__ = (
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity"),
        CheckConstraint("amount_yuan IS NULL OR amount_yuan >= 0", name="amount"),
        Index("ix_service_records_household_date", "household_id", "delivered_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("resources.id", ondelete="SET NULL"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    provider_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL")
    )
    #: a named provider (a neighbour, a volunteer) when not an organisation
    provider_person: Mapped[str | None] = mapped_column(String(40))
    provider_phone: Mapped[str | None] = mapped_column(String(20))
    delivered_on: Mapped[dt.date] = mapped_column(Date, default=dt.date.today, index=True)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    unit: Mapped[str | None] = mapped_column(String(16))
    amount_yuan: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))

    household: Mapped["Household"] = relationship(back_populates="service_records")  # noqa: F821
    needs: Mapped[list["Need"]] = relationship(  # noqa: F821
        secondary=service_record_needs, order_by="Need.id"
    )
    resource: Mapped["Resource | None"] = relationship()  # noqa: F821
    project: Mapped["Project | None"] = relationship()  # noqa: F821
    provider_organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    files: Mapped[list["StoredFile"]] = relationship(  # noqa: F821
        back_populates="service_record", cascade="all, delete-orphan", order_by="StoredFile.id"
    )
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    @validates("delivered_on")
    def _check_date(self, _key, value):
        return check_not_future(value)

    @validates("quantity", "amount_yuan")
    def _check_amount(self, _key, value):
        return normalize_money(value)

    @validates("provider_phone")
    def _check_phone(self, _key, value):
        return normalize_phone(value) if value else None

    @property
    def provider_name(self) -> str:
        if self.provider_organisation is not None:
            return self.provider_organisation.name
        if self.provider_person:
            return self.provider_person
        return self.resource.provider_name if self.resource is not None else ""

    def check_consistency(self) -> None:
        household = self.resolved_household()
        for need in self.needs:
            if household is not None and need.household_id not in (None, household.id):
                raise InvalidValue(_l("A service record serves needs of its own household only."))

    def __str__(self) -> str:
        return f"{self.delivered_on:%Y-%m-%d} {self.description[:20]}"
