"""Households in hardship (困难家庭) and their members."""

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db
from app.models.area import AreaOwnedMixin
from app.models.base import TrackedMixin
from app.models.choices import (
    DISABILITY_TYPES,
    EMPLOYMENT_STATUSES,
    GENDERS,
    HOUSEHOLD_STATUSES,
    INTAKE_CHANNELS,
    RELATIONS,
    check_in,
)
from app.validation import (
    birth_date_from_id,
    check_not_future,
    gender_from_id,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_money,
    normalize_phone,
)

household_categories = Table(
    "household_categories",
    db.metadata,
    Column("household_id", ForeignKey("households.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "category_id", ForeignKey("hardship_categories.id", ondelete="RESTRICT"), primary_key=True
    ),
)


class HouseholdPartMixin:
    """A row inside a household (a member, a need): it carries a copy of the
    household's street and community so it is scoped and filtered like it."""

    def resolved_household(self) -> "Household | None":
        if self.household is not None:
            return self.household
        return db.session.get(Household, self.household_id) if self.household_id else None


class Household(AreaOwnedMixin, TrackedMixin, db.Model):
    """A household in hardship, known to exactly one community."""

    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint(check_in("status", HOUSEHOLD_STATUSES), name="status"),
        CheckConstraint(check_in("intake_channel", INTAKE_CHANNELS), name="intake_channel"),
        CheckConstraint("monthly_income IS NULL OR monthly_income >= 0", name="income"),
        CheckConstraint(
            "disability_grade IS NULL OR disability_grade BETWEEN 1 AND 4", name="grade"
        ),
        CheckConstraint("community_id IS NOT NULL", name="community"),
        CheckConstraint(
            "disability_type IS NULL OR " + check_in("disability_type", DISABILITY_TYPES),
            name="disability_type",
        ),
        Index("ix_households_street_status", "street_id", "status"),
        Index("ix_households_community_status", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    head_name: Mapped[str] = mapped_column(String(40), index=True)
    #: GB 11643 resident ID of the head of household; validated and stored upper-case
    head_id_number: Mapped[str] = mapped_column(String(18), unique=True)
    head_gender: Mapped[str | None] = mapped_column(String(8))
    head_birth_date: Mapped[dt.date | None] = mapped_column(Date)
    head_phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200))
    disability_type: Mapped[str | None] = mapped_column(String(16))
    disability_grade: Mapped[int | None] = mapped_column(Integer)
    #: household income per month, yuan
    monthly_income: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: insurance and subsidies already received (医保, 护理补贴, 养老金 …)
    existing_support: Mapped[str | None] = mapped_column(Text)
    intake_channel: Mapped[str] = mapped_column(String(24))
    intake_date: Mapped[dt.date] = mapped_column(Date, default=dt.date.today, index=True)
    assigned_worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="registered", index=True)
    #: who referred the household (for the referral channels): an organisation …
    referrer_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    #: … or a person (the neighbour who told the community)
    referrer_person: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)

    categories: Mapped[list["HardshipCategory"]] = relationship(  # noqa: F821
        secondary=household_categories, order_by="HardshipCategory.sort_order"
    )
    members: Mapped[list["Member"]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="Member.id"
    )
    needs: Mapped[list["Need"]] = relationship(  # noqa: F821
        back_populates="household", cascade="all, delete-orphan", order_by="Need.id"
    )
    assigned_worker: Mapped["User | None"] = relationship(  # noqa: F821
        foreign_keys=[assigned_worker_id]
    )
    referrer_organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    transitions: Mapped[list["CaseTransition"]] = relationship(  # noqa: F821
        back_populates="household",
        cascade="all, delete-orphan",
        order_by="CaseTransition.occurred_at",
    )
    assessments: Mapped[list["Assessment"]] = relationship(  # noqa: F821
        back_populates="household",
        cascade="all, delete-orphan",
        order_by="(Assessment.visit_date, Assessment.id)",
    )
    service_records: Mapped[list["ServiceRecord"]] = relationship(  # noqa: F821
        back_populates="household",
        cascade="all, delete-orphan",
        order_by="(ServiceRecord.delivered_on, ServiceRecord.id)",
    )
    support_plans: Mapped[list["SupportPlan"]] = relationship(  # noqa: F821
        back_populates="household", order_by="SupportPlan.starts_on"
    )

    @validates("head_id_number")
    def _check_id(self, _key, value):
        number = normalize_id_number(value)
        self.head_gender = gender_from_id(number)
        self.head_birth_date = birth_date_from_id(number)
        return number

    @validates("head_phone")
    def _check_phone(self, _key, value):
        return normalize_phone(value) if value else None

    @validates("monthly_income")
    def _check_income(self, _key, value):
        return normalize_money(value)

    @validates("intake_date")
    def _check_intake_date(self, _key, value):
        return check_not_future(value)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.head_id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.head_phone)

    @property
    def member_count(self) -> int:
        return len(self.members) + 1

    def check_consistency(self) -> None:
        AreaOwnedMixin.check_consistency(self)
        # the referral rule and the status-change rule live with the casework service
        from app.services.casework import check_household_on_save

        check_household_on_save(self)

    def __str__(self) -> str:
        # Names only: a household's label appears in drop-downs and must not carry an ID.
        community = self.community.name if self.community else ""
        return f"{self.head_name}（{community}）"


class Member(HouseholdPartMixin, TrackedMixin, db.Model):
    """A person living in a household other than its head."""

    __tablename__ = "household_members"
    __table_args__ = (
        CheckConstraint(check_in("relation", RELATIONS), name="relation"),
        CheckConstraint(
            "employment IS NULL OR " + check_in("employment", EMPLOYMENT_STATUSES),
            name="employment",
        ),
        CheckConstraint(
            "disability_type IS NULL OR " + check_in("disability_type", DISABILITY_TYPES),
            name="disability_type",
        ),
        CheckConstraint(
            "disability_grade IS NULL OR disability_grade BETWEEN 1 AND 4", name="grade"
        ),
        CheckConstraint("gender IS NULL OR " + check_in("gender", GENDERS), name="gender"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    #: copied from the household, so members are scoped and filtered like it
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    relation: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    health: Mapped[str | None] = mapped_column(Text)
    disability_type: Mapped[str | None] = mapped_column(String(16))
    disability_grade: Mapped[int | None] = mapped_column(Integer)
    employment: Mapped[str | None] = mapped_column(String(16))

    household: Mapped[Household] = relationship(back_populates="members")
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    @validates("id_number")
    def _check_id(self, _key, value):
        if not value:
            return None
        number = normalize_id_number(value)
        self.gender = gender_from_id(number)
        self.birth_date = birth_date_from_id(number)
        return number

    @validates("birth_date")
    def _check_birth(self, _key, value):
        return check_not_future(value)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    def __str__(self) -> str:
        return self.name
