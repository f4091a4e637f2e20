"""The dashboard's summary table (``dashboard_daily``): the counts behind the heavy
figures, per day, area and key, so that a million households are summed from a few
thousand rows.

Each figure of ``FIGURES`` is one *record-level* select (one row per household or
need: its day, street, community, keys and day count). The live dashboard groups it
directly; ``refresh`` stores it grouped by day (``INSERT … SELECT … GROUP BY``, in SQL)
and the dashboard then sums the stored rows for the days the summary covers and groups
the live select only for the days it does not (today, after a nightly refresh). Both go
through the same select, so a figure read from the summary is the figure the live
computation gave at the refresh (``tests/services/test_dashboard_summary.py``).

Dated figures (``day`` is the record's date) are kept for ``[covered_from,
covered_to]`` of the newest ``DashboardRefresh``; what is true *now* (households by
status and category, needs by dimension and status) is a snapshot taken by each
refresh (``day`` None) and holds at its ``finished_at``: the page says so
("数据截至 …"). What happened after a refresh to records dated before it (a visit
recorded today for last week's case) shows after the next one.

``refresh(day_from, day_to)`` is one transaction and idempotent: it deletes the days
it recomputes (and the snapshot) and inserts them again. ``flask dashboard-refresh``
runs it (cron, nightly), ``enqueue_refresh`` queues it (``app/jobs.py``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
)

from app import access
from app.extensions import db
from app.models import (
    Assessment,
    HardshipCategory,
    Household,
    Need,
    NeedMatch,
    ServiceRecord,
    household_categories,
    service_record_needs,
)
from app.models.base import utcnow
from app.models.dashboard import DashboardDaily, DashboardRefresh
from app.services.dashboard.sql import days_between
from app.services.transaction import committed

COLUMNS = ("day", "street_id", "community_id", "key1", "key2", "days")


# ----------------------------------------------------------- record-level selects
def _where(model, scope: access.Scope | None, column=None, start=None, end=None):
    criteria = [access.active_criterion(model)]
    if scope is not None:
        criteria.append(access.read_criterion(model, scope))
    if column is not None:
        if start is not None:
            criteria.append(column >= start)
        if end is not None:
            criteria.append(column <= end)
    return and_(*criteria)


def _row(day, model, key1=None, key2=None, days=None):
    return [
        (day if day is not None else cast(null(), Date)).label("day"),
        model.street_id.label("street_id"),
        model.community_id.label("community_id"),
        (key1 if key1 is not None else literal("")).label("key1"),
        (key2 if key2 is not None else literal("")).label("key2"),
        (days if days is not None else cast(null(), Integer)).label("days"),
    ]


def _intake(scope, start, end):
    """New cases: a household by its intake day and channel."""
    return select(*_row(Household.intake_date, Household, Household.intake_channel)).where(
        _where(Household, scope, Household.intake_date, start, end)
    )


def _visit(scope, start, end):
    """A new case by its intake day, with the days to its first home visit (on or
    after intake; None: not visited yet)."""
    first_visit = (
        select(func.min(Assessment.visit_date))
        .where(
            Assessment.household_id == Household.id,
            Assessment.visit_date >= Household.intake_date,
        )
        .correlate(Household)
        .scalar_subquery()
    )
    waited = days_between(first_visit, Household.intake_date)
    return select(*_row(Household.intake_date, Household, days=waited)).where(
        _where(Household, scope, Household.intake_date, start, end)
    )


def _need_steps(scope, start, end):
    first_match = (
        select(func.min(NeedMatch.created_at))
        .where(NeedMatch.need_id == Need.id)
        .correlate(Need)
        .scalar_subquery()
    )
    first_service = (
        select(func.min(ServiceRecord.delivered_on))
        .join(service_record_needs, service_record_needs.c.service_record_id == ServiceRecord.id)
        .where(service_record_needs.c.need_id == Need.id)
        .correlate(Need)
        .scalar_subquery()
    )
    return (
        select(
            Need.identified_on.label("identified"),
            Need.street_id,
            Need.community_id,
            first_match.label("matched"),
            first_service.label("served"),
        )
        .where(_where(Need, scope, Need.identified_on, start, end))
        .subquery()
    )


def _step(later: str, earlier: str):
    def build(scope, start, end):
        steps = _need_steps(scope, start, end)
        waited = days_between(steps.c[later], steps.c[earlier])
        return select(
            steps.c.identified.label("day"),
            steps.c.street_id.label("street_id"),
            steps.c.community_id.label("community_id"),
            literal("").label("key1"),
            literal("").label("key2"),
            waited.label("days"),
        ).where(waited.is_not(None), waited >= 0)

    return build


def _met(scope, start, end):
    """A need met, by the day it was met and its dimension, with the days it waited."""
    waited = days_between(Need.resolved_on, Need.identified_on)
    return select(*_row(Need.resolved_on, Need, Need.dimension, days=waited)).where(
        _where(Need, scope, Need.resolved_on, start, end), Need.status == "met"
    )


def _households(scope, _start, _end):
    """Households now, by status."""
    return select(*_row(None, Household, Household.status)).where(_where(Household, scope))


def _categories(scope, _start, _end):
    """Households now, by hardship category (the id, as text) and status."""
    cat = household_categories.c
    return (
        select(*_row(None, Household, cast(HardshipCategory.id, String), Household.status))
        .select_from(HardshipCategory)
        .join(household_categories, cat.category_id == HardshipCategory.id)
        .join(Household, Household.id == cat.household_id)
        .where(_where(Household, scope))
    )


def _needs(scope, _start, _end):
    """Needs now, by dimension and status."""
    return select(*_row(None, Need, Need.dimension, Need.status)).where(_where(Need, scope))


@dataclass(frozen=True)
class Figure:
    name: str
    model: type
    #: (scope or None for the whole district, first day, last day) -> record-level select
    records: Callable
    dated: bool = True


FIGURES = {
    f.name: f
    for f in (
        Figure("intake", Household, _intake),
        Figure("visit", Household, _visit),
        Figure("to_match", Need, _step("matched", "identified")),
        Figure("to_service", Need, _step("served", "matched")),
        Figure("met", Need, _met),
        Figure("households", Household, _households, dated=False),
        Figure("categories", Household, _categories, dated=False),
        Figure("needs", Need, _needs, dated=False),
    )
}


# ------------------------------------------------------------------- reading
def latest() -> DashboardRefresh | None:
    """The newest finished refresh, or None (then every figure is computed live)."""
    return db.session.scalars(
        select(DashboardRefresh)
        .where(DashboardRefresh.finished_at.is_not(None))
        .order_by(DashboardRefresh.id.desc())
        .limit(1)
    ).first()


def _segments(start, end, refreshed: DashboardRefresh | None):
    """The period cut into (first, last, from_summary) pieces."""
    lo, hi = (
        refreshed.covered_from if refreshed else None,
        refreshed.covered_to if refreshed else None,
    )
    if lo is None or hi is None or end < lo or start > hi:
        return [(start, end, False)]
    pieces = []
    if start < lo:
        pieces.append((start, lo - dt.timedelta(days=1), False))
    pieces.append((max(start, lo), min(end, hi), True))
    if end > hi:
        pieces.append((hi + dt.timedelta(days=1), end, False))
    return pieces


def rows(
    name: str,
    scope: access.Scope,
    refreshed: DashboardRefresh | None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    bucket: Callable | None = None,
):
    """The figure ``name`` for ``scope`` as ``(area, bucket, key1, key2, days, n)``
    rows, one per distinct value: area is the street (district view) or community
    (street view), bucket ``bucket(day)`` (e.g. the month) or None. Stored rows for the
    days the summary covers and live ones for the rest, in one statement."""
    figure = FIGURES[name]
    by_street = scope.street_id is None
    if figure.dated:
        pieces = _segments(start, end, refreshed)
    else:
        pieces = [(None, None, refreshed is not None)]
    parts = []
    for first, last, stored in pieces:
        if stored:
            if scope.role not in access.READ_ROLES.get(figure.model, ()):
                continue
            table = DashboardDaily
            area = table.street_id if by_street else table.community_id
            day = table.day
            where = [table.figure == name, table.level == ("street" if by_street else "community")]
            if not by_street:
                where.append(table.street_id == scope.street_id)
            if scope.community_id is not None:
                where.append(table.community_id == scope.community_id)
            if figure.dated:
                where += [table.day >= first, table.day <= last]
            else:
                where.append(table.day.is_(None))
            source, count, keys = None, func.sum(table.n), (table.key1, table.key2, table.days)
        else:
            source = figure.records(scope, first, last).subquery()
            area = source.c.street_id if by_street else source.c.community_id
            day = source.c.day
            where, count = [], func.count()
            keys = (source.c.key1, source.c.key2, source.c.days)
        bucketed = bucket(day) if bucket is not None else cast(null(), Integer)
        columns = [area.label("area"), bucketed.label("bucket"), *keys]
        stmt = select(*columns, count.label("n"))
        if source is not None:
            stmt = stmt.select_from(source)
        parts.append(stmt.where(*where).group_by(*columns))
    if not parts:
        return []
    if len(parts) == 1:
        return db.session.execute(parts[0]).all()
    both = union_all(*parts).subquery()
    columns = [both.c.area, both.c.bucket, both.c.key1, both.c.key2, both.c.days]
    return db.session.execute(select(*columns, func.sum(both.c.n)).group_by(*columns)).all()


# ------------------------------------------------------------------- refresh
def first_day() -> dt.date | None:
    """The first intake or need identified (both indexed: no scan of the needs). A need
    met before that day (it would be a need met before it was identified) is still
    counted: days before the summary's are computed live."""
    lows = db.session.execute(
        select(
            select(func.min(Household.intake_date)).scalar_subquery(),
            select(func.min(Need.identified_on)).scalar_subquery(),
        )
    ).one()
    lows = [d for d in lows if d is not None]
    return min(lows) if lows else None


def refresh(
    day_from: dt.date | None = None,
    day_to: dt.date | None = None,
    *,
    today: dt.date | None = None,
    source: str = "",
) -> DashboardRefresh:
    """Recompute the summary for the days ``[day_from, day_to]`` and the snapshot, in
    one transaction. ``day_from`` None: from the first day with a record (a full
    refresh); ``day_to`` None: yesterday (today is left live, to be complete tomorrow).
    Days the summary held before stay, as long as they join up with the new ones;
    a gap (``--since`` after days never summed) starts the summary again from
    ``day_from``. Returns the finished ``DashboardRefresh``."""
    today = today or dt.date.today()
    started = time.perf_counter()
    with committed():
        if db.session.get_bind().dialect.name == "postgresql":
            # one refresh at a time: a second waits, then recomputes on top
            db.session.execute(select(func.pg_advisory_xact_lock(7_330_013)))
        before = latest()
        day_to = day_to or today - dt.timedelta(days=1)
        day_from = day_from or first_day() or day_to
        day_from = min(day_from, day_to)
        record = DashboardRefresh(day_from=day_from, day_to=day_to, source=source)
        db.session.add(record)
        db.session.flush()
        table = DashboardDaily.__table__
        db.session.execute(
            delete(table).where(
                or_(table.c.day.is_(None), and_(table.c.day >= day_from, table.c.day <= day_to))
            )
        )
        if (
            before is not None
            and before.covered_from is not None
            and (
                day_from <= before.covered_to + dt.timedelta(days=1)
                and day_to >= before.covered_from - dt.timedelta(days=1)
            )
        ):
            covered = (min(day_from, before.covered_from), max(day_to, before.covered_to))
        else:
            # nothing kept joins up with these days: only these are summed now
            db.session.execute(delete(table))
            covered = (day_from, day_to)
        target = [table.c.figure, table.c.level, *(table.c[name] for name in COLUMNS), table.c.n]
        for figure in FIGURES.values():
            if figure.dated:
                records = figure.records(None, day_from, day_to).subquery()
            else:
                records = figure.records(None, None, None).subquery()
            keys = [records.c[name] for name in COLUMNS]
            stmt = select(literal(figure.name), literal("community"), *keys, func.count()).group_by(
                *keys
            )
            db.session.execute(insert(table).from_select(target, stmt))
        # the streets' rows: their communities' rows added up, from the table itself
        stored = DashboardDaily
        keys = [stored.day, stored.street_id, stored.key1, stored.key2, stored.days]
        window = or_(stored.day.is_(None), and_(stored.day >= day_from, stored.day <= day_to))
        stmt = (
            select(
                stored.figure,
                literal("street"),
                stored.day,
                stored.street_id,
                cast(null(), Integer),
                stored.key1,
                stored.key2,
                stored.days,
                func.sum(stored.n),
            )
            .where(stored.level == "community", window)
            .group_by(stored.figure, *keys)
        )
        db.session.execute(insert(table).from_select(target, stmt))
        record.covered_from, record.covered_to = covered
        # what the summary holds now (rowcount of INSERT … SELECT is not portable)
        record.rows = db.session.scalar(select(func.count()).select_from(table))
        record.finished_at = utcnow()
    if db.session.get_bind().dialect.name == "postgresql":
        # fresh statistics for the planner: the rows were all just replaced (a table
        # it believes empty is read by the wrong plan once it holds years of days)
        with committed():
            db.session.execute(text("ANALYZE dashboard_daily"))
    record.seconds = time.perf_counter() - started
    return record


def refresh_job(day_from: str | None = None, day_to: str | None = None) -> None:
    """The background job (``app/jobs.py``): ``refresh`` with ISO dates."""
    refresh(
        dt.date.fromisoformat(day_from) if day_from else None,
        dt.date.fromisoformat(day_to) if day_to else None,
        source="job",
    )


def enqueue_refresh(day_from: dt.date | None = None, day_to: dt.date | None = None) -> str:
    """Queue a refresh (RQ with ``REDIS_URL``, else run now): the job's id, or
    "inline" when it ran here."""
    from app import jobs

    job_id = jobs.enqueue(
        refresh_job,
        day_from.isoformat() if day_from else None,
        day_to.isoformat() if day_to else None,
        description="dashboard summary refresh",
    )
    return job_id or "inline"
