"""Monthly reports for the bureau (月度报表), and the indexes the dashboard's aggregates
read by.

A ``Report`` is asked for (in the panel or by ``flask monthly-report`` from cron),
made by a background job (``app/jobs.py``) that keeps its progress in the row, and
kept: its XLSX and PDF stay in ``REPORT_FOLDER`` under generated names and are
downloaded only through the reports page, after a scope check.
"""

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow
from app.models.casework import service_record_needs
from app.models.choices import check_in
from app.models.household import Household
from app.models.need import Need

REPORT_STATUSES = [
    ("queued", "queued"),
    ("running", "running"),
    ("done", "done"),
    ("failed", "failed"),
]


class Report(db.Model):
    """One monthly report of the district (``street_id`` None) or of one street."""

    __tablename__ = "monthly_reports"
    __table_args__ = (
        CheckConstraint(check_in("status", REPORT_STATUSES), name="status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        Index("ix_monthly_reports_month_street", "month", "street_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the first day of the month reported on
    month: Mapped[dt.date] = mapped_column(Date)
    #: the street reported on; None: the whole district
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    #: who asked for it; None when the CLI (cron) did
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    #: percent done, kept by the job as it goes
    progress: Mapped[int] = mapped_column(Integer, default=0)
    #: what the job is doing, or why it failed (an error reference, never a trace)
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: the RQ job id (None when it ran inline)
    job_id: Mapped[str | None] = mapped_column(String(64))
    #: generated file names in ``REPORT_FOLDER``
    xlsx_name: Mapped[str | None] = mapped_column(String(80))
    pdf_name: Mapped[str | None] = mapped_column(String(80))

    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    requested_by = relationship("User", foreign_keys=[requested_by_id], viewonly=True)

    @property
    def is_finished(self) -> bool:
        return self.status in ("done", "failed")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


# The dashboard's aggregates filter by area and a date (``app/services/dashboard``):
# new cases by intake date, the period's needs by the day they were found, and the
# services delivered for a need. Declared here, beside their one reader's model.
Index("ix_households_street_intake", Household.street_id, Household.intake_date)
Index("ix_households_community_intake", Household.community_id, Household.intake_date)
Index("ix_needs_street_identified", Need.street_id, Need.identified_on)
Index("ix_needs_community_identified", Need.community_id, Need.identified_on)
Index("ix_service_record_needs_need", service_record_needs.c.need_id)
