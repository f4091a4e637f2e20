"""Totals that stay fast at a million rows: exact while they are small; above
``COUNT_ESTIMATE_ABOVE`` rows (the planner's estimate, on PostgreSQL) an
``EstimatedCount``, which pages show as 约 N with the exact count a click away
(``?exact_count=1`` on lists). Counting a million rows costs tens of milliseconds on
every page view for a figure nobody reads to the unit; the planner's estimate from the
table's statistics costs a fraction of a millisecond. SQLite (the embedded demo) always
counts exactly.

Used by the lists (``ScopedModelView.get_list``), the landing page and the to-do list.
"""

from __future__ import annotations

import json

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import func, literal_column, select

from app.extensions import db


class EstimatedCount(int):
    """A total the planner estimated: an int for the pager's arithmetic, shown as
    "约 N"."""

    estimated = True

    def __str__(self) -> str:
        return _("about %(n)s", n=f"{int(self):,}")


class CappedCount(int):
    """A count that stopped at its cap: at least this many, shown as "N+"."""

    capped = True

    def __str__(self) -> str:
        return _("%(n)s+", n=f"{int(self):,}")


def capped_sum(*counts: int) -> int:
    """The sum of counts, itself capped if any of them was."""
    total = sum(int(c) for c in counts)
    return CappedCount(total) if any(isinstance(c, CappedCount) for c in counts) else total


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def planner_rows(statement) -> int | None:
    """The planner's estimate of the rows ``statement`` returns (PostgreSQL), else None."""
    if not is_postgresql():
        return None
    compiled = statement.compile(dialect=db.engine.dialect)
    connection = db.session.connection()
    params = compiled.params
    if compiled.positiontup is not None:
        params = tuple(params[k] for k in compiled.positiontup)
    plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", params).scalar()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def wants_exact_count() -> bool:
    return has_request_context() and request.args.get("exact_count") == "1"


def _estimate_above(rows_statement) -> int | None:
    """The planner's estimate of ``rows_statement`` when it is above the threshold
    (and the user did not ask for exact counts), else None."""
    threshold = current_app.config.get("COUNT_ESTIMATE_ABOVE", 20_000)
    if not threshold or wants_exact_count() or not is_postgresql():
        return None
    rows = planner_rows(rows_statement)
    return rows if rows is not None and rows > threshold else None


def count_rows(count_query) -> int:
    """The total a list shows for ``count_query`` (an ORM ``Query`` of ``count(*)``):
    exact, or an ``EstimatedCount`` when the planner expects more rows than
    ``COUNT_ESTIMATE_ABOVE``."""
    estimate = _estimate_above(count_query.statement.with_only_columns(literal_column("1")))
    if estimate is not None:
        return EstimatedCount(estimate)
    return count_query.scalar() or 0


def count_of(statement) -> int:
    """The number of rows ``statement`` (a ``select(...)``) returns: exact, or an
    ``EstimatedCount`` above the threshold."""
    estimate = _estimate_above(statement.with_only_columns(literal_column("1")))
    if estimate is not None:
        return EstimatedCount(estimate)
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    return db.session.scalar(counted) or 0


def count_up_to(statement, cap: int = 10_000) -> int:
    """The exact number of rows ``statement`` returns, or ``CappedCount(cap)`` when there
    are more: ``SELECT count(*) FROM (… LIMIT cap + 1)`` reads at most ``cap + 1`` rows,
    for counts the planner estimates poorly (anti-joins: the to-do list's visits due)
    and whose exact size past the cap helps nobody plan their day."""
    limited = statement.order_by(None).limit(cap + 1).subquery()
    found = db.session.scalar(select(func.count()).select_from(limited)) or 0
    return CappedCount(cap) if found > cap else found
