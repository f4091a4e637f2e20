"""Needs lists (需求清单): what a household needs, in one of five dimensions."""

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db
from app.models.base import ArchivableMixin, TrackedMixin
from app.models.choices import NEED_CATEGORIES, NEED_DIMENSIONS, NEED_STATUSES, URGENCIES, check_in
from app.models.household import HouseholdPartMixin
from app.validation import check_not_future


class Need(HouseholdPartMixin, ArchivableMixin, TrackedMixin, db.Model):
    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint(check_in("dimension", NEED_DIMENSIONS), name="dimension"),
        CheckConstraint(check_in("category", NEED_CATEGORIES), name="category"),
        CheckConstraint(check_in("urgency", URGENCIES), name="urgency"),
        CheckConstraint(check_in("status", NEED_STATUSES), name="status"),
        Index("ix_needs_street_status", "street_id", "status"),
        Index("ix_needs_community_status", "community_id", "status"),
        # the to-do list's needs open longest, in order, and their capped count, in the
        # district and in a street: read from the index's head, not filtered out of
        # every need found in a street (20,000 rows read for 50 at a million households)
        Index(
            "ix_needs_status_identified",
            "status",
            "identified_on",
            "id",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
        Index(
            "ix_needs_street_status_identified",
            "street_id",
            "status",
            "identified_on",
            "id",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    #: copied from the household, so needs are scoped and filtered like it
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    dimension: Mapped[str] = mapped_column(String(16), index=True)
    category: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(12), default="open")
    identified_on: Mapped[dt.date] = mapped_column(Date, default=dt.date.today, index=True)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date)
    #: the home visit that identified this need, if any
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL"), index=True
    )

    household: Mapped["Household"] = relationship(back_populates="needs")  # noqa: F821
    assessment: Mapped["Assessment | None"] = relationship(back_populates="needs")  # noqa: F821
    matches: Mapped[list["NeedMatch"]] = relationship(  # noqa: F821
        back_populates="need", cascade="all, delete-orphan", order_by="NeedMatch.id"
    )
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    @validates("identified_on", "resolved_on")
    def _check_dates(self, _key, value):
        return check_not_future(value)

    def __str__(self) -> str:
        return self.description[:30]
