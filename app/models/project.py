"""Aid projects: community projects (社区项目) and household projects (到户项目)."""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Numeric,
    String,
    Table,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship, validates

from app.extensions import db
from app.models.area import AreaOwnedMixin
from app.models.base import ArchivableMixin, TrackedMixin
from app.models.choices import HELP_KINDS, PROJECT_LEVELS, PROJECT_STATUSES, check_in
from app.validation import InvalidValue, normalize_money

project_beneficiaries = Table(
    "project_beneficiaries",
    db.metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("household_id", ForeignKey("households.id", ondelete="CASCADE"), primary_key=True),
)

project_sponsors = Table(
    "project_sponsors",
    db.metadata,
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
)


class Project(AreaOwnedMixin, ArchivableMixin, TrackedMixin, db.Model):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(check_in("level", PROJECT_LEVELS), name="level"),
        CheckConstraint(check_in("help_kind", HELP_KINDS), name="help_kind"),
        CheckConstraint(check_in("status", PROJECT_STATUSES), name="status"),
        CheckConstraint("budget >= 0", name="budget"),
        # pending + approved pledges never exceed the budget: the database refuses
        # an over-pledge even when two sponsors pledge at the same moment
        CheckConstraint("pledged_total >= 0 AND pledged_total <= budget", name="pledged_total"),
        CheckConstraint("street_id IS NOT NULL", name="street"),
        CheckConstraint(
            "ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="dates"
        ),
    )
    community_required = False

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(12), index=True)
    help_kind: Mapped[str] = mapped_column(String(12), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    #: what sponsors read: written or approved by staff, never naming a household
    public_summary: Mapped[str | None] = mapped_column(Text)
    budget: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    #: sum of pending and approved pledges, kept by ``app/services/sponsorship.py``
    pledged_total: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), default=Decimal("0"), server_default=text("0")
    )
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)

    beneficiaries: Mapped[list["Household"]] = relationship(  # noqa: F821
        secondary=project_beneficiaries, order_by="Household.id"
    )
    sponsors: Mapped[list["Organisation"]] = relationship(  # noqa: F821
        secondary=project_sponsors, order_by="Organisation.name"
    )
    pledges: Mapped[list["Pledge"]] = relationship(  # noqa: F821
        back_populates="project", order_by="Pledge.id"
    )

    @property
    def remaining_budget(self) -> Decimal:
        return (self.budget or Decimal("0")) - (self.pledged_total or Decimal("0"))

    @validates("budget")
    def _check_budget(self, _key, value):
        return normalize_money(value, allow_none=False)

    #: counted in SQL, so sponsors' pages never load the households themselves
    beneficiary_count: Mapped[int] = column_property(
        select(func.count(project_beneficiaries.c.household_id))
        .where(project_beneficiaries.c.project_id == id)
        .correlate_except(project_beneficiaries)
        .scalar_subquery()
    )

    def check_consistency(self) -> None:
        AreaOwnedMixin.check_consistency(self)
        street, community = self.resolved_areas()
        if street is None and community is None:
            raise InvalidValue(_l("Choose the street of this project."))
        street_id = community.parent_id if community is not None else street.id
        if self.level == "community" and community is None:
            raise InvalidValue(_l("A community project needs its community."))
        if self.level == "community" and self.beneficiaries:
            raise InvalidValue(_l("Only household projects list beneficiary households."))
        for household in self.beneficiaries:
            if household.street_id != street_id or (
                community is not None and household.community_id != community.id
            ):
                raise InvalidValue(
                    _l("Every beneficiary household must live in the project's area.")
                )
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise InvalidValue(_l("The end date is before the start date."))
        if self.budget is not None and self.budget < (self.pledged_total or 0):
            raise InvalidValue(
                _l(
                    "The budget cannot be less than the %(amount)s yuan already pledged.",
                    amount=self.pledged_total,
                )
            )
        self._check_public_summary()
        from app.models.choices import SPONSOR_ORGANISATION_KINDS

        if any(o.kind not in SPONSOR_ORGANISATION_KINDS for o in self.sponsors):
            raise InvalidValue(_l("Sponsors are enterprises or social organisations."))

    def _check_public_summary(self) -> None:
        """What sponsors read names no household: no ID number or mobile number, and
        no name or address of a beneficiary household."""
        from app.validation import ID_NUMBER_PATTERN, PHONE_PATTERN

        text = " ".join(filter(None, (self.public_summary, self.name)))
        if not text:
            return
        if ID_NUMBER_PATTERN.search(text) or PHONE_PATTERN.search(text):
            raise InvalidValue(
                _l("The name and summary shown to sponsors may not contain ID or phone numbers.")
            )
        for household in self.beneficiaries:
            personal = [household.head_name, household.address]
            personal += [m.name for m in household.members]
            if any(value and len(value) >= 2 and value in text for value in personal):
                raise InvalidValue(
                    _l(
                        "The name and summary shown to sponsors may not name a beneficiary "
                        "household or its address."
                    )
                )

    def __str__(self) -> str:
        return self.name
