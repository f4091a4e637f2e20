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
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlalchemy.sql.visitors import InternalTraversal

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


class Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON) <statement>`` as a statement SQLAlchemy caches like any
    other: compiled once per shape of ``statement``, not on every page (compiling the
    list's filtered SELECT anew cost about a millisecond a page, the landing page eight)."""

    inherit_cache = True
    _traverse_internals = [("statement", InternalTraversal.dp_clauseelement)]

    def __init__(self, statement):
        self.statement = statement

    @property
    def _all_selected_columns(self):
        # the one row's one column is the plan (JSON), none of the statement's: nothing
        # to match when a cached compilation is reused (read by position: ``scalar()``)
        return ()


@compiles(Explain, "postgresql")
def _compile_explain(element, compiler, **kw):
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def planner_rows(statement) -> int | None:
    """The planner's estimate of the rows ``statement`` returns (PostgreSQL), else None."""
    if not is_postgresql():
        return None
    plan = db.session.execute(Explain(statement)).scalar()
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


#: a search's total is counted exactly up to this many matches, then shown as "1,000+"
SEARCH_COUNT_CAP = 1000


def count_matches(count_query) -> int:
    """The total a *searched* list shows: exact up to ``SEARCH_COUNT_CAP`` matches, else
    ``CappedCount`` ("1,000+", the exact figure a click away). The planner cannot
    estimate a name search well (at a million households it put 秀英 in one street at
    3,794 rows; there were 16,670), and counting them all reads every match from the
    table (25 ms); reading at most a thousand-and-one costs a few."""
    if wants_exact_count():
        return count_query.scalar() or 0
    rows = count_query.statement.with_only_columns(literal_column("1"))
    return count_up_to(rows, cap=SEARCH_COUNT_CAP)


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
