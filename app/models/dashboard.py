"""The dashboard's summary (数据看板汇总): counts per day, area and key, refreshed by
``app/services/dashboard/summary.py`` (``flask dashboard-refresh`` from cron, or a job),
so that the dashboard of a million households sums a few thousand rows instead of
scanning millions.

Derived data only: every row can be recomputed from the records, so neither table is
in the audit trail (nothing a user did is recorded here; the refresh writes with
``INSERT … SELECT``, not through the ORM).
"""

import datetime as dt

from sqlalchemy import Date, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import utcnow
from app.models.need import Need


class DashboardDaily(db.Model):
    """How many records of one figure fell on one day, in one community, with one key.

    ``figure`` says what is counted and what the columns mean
    (``app/services/dashboard/summary.py`` ``FIGURES``); ``day`` is the day the figure
    is dated by (intake, need identified, need met), or None for the figures that
    count what is true now (households by status, needs by dimension and status),
    which hold at ``DashboardRefresh.finished_at``. ``days`` is the day count of a
    histogram (medians), None where a figure has none or the case has none yet."""

    __tablename__ = "dashboard_daily"
    __audited__ = False
    __table_args__ = (Index("ix_dashboard_daily_read", "figure", "level", "street_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    figure: Mapped[str] = mapped_column(String(20))
    #: "community": one community's count; "street": the street's communities added
    #: up (the district view reads these, a tenth as many rows)
    level: Mapped[str] = mapped_column(String(10))
    day: Mapped[dt.date | None] = mapped_column(Date)
    # plain ids, no foreign keys: a summary row never holds up deleting an area
    street_id: Mapped[int | None] = mapped_column(Integer)
    community_id: Mapped[int | None] = mapped_column(Integer)
    key1: Mapped[str] = mapped_column(String(40), default="")
    key2: Mapped[str] = mapped_column(String(40), default="")
    days: Mapped[int | None] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)


class DashboardRefresh(db.Model):
    """One refresh of the summary: the days it recomputed, when, and how long it took.
    The newest finished one says how fresh the dashboard's numbers are."""

    __tablename__ = "dashboard_refreshes"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the days of the dated figures the summary holds after this refresh
    covered_from: Mapped[dt.date | None] = mapped_column(Date)
    covered_to: Mapped[dt.date | None] = mapped_column(Date)
    #: the days this refresh recomputed
    day_from: Mapped[dt.date | None] = mapped_column(Date)
    day_to: Mapped[dt.date | None] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    #: "flask dashboard-refresh", "job"
    source: Mapped[str] = mapped_column(String(40), default="")


#: the needs met on a day: the dashboard counts today's live (after the nightly
#: refresh), which without it is a scan of every need
Index("ix_needs_resolved_on", Need.resolved_on)
