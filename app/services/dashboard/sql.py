"""Two date expressions that SQLite and PostgreSQL spell differently, and the median
of a histogram (medians are counted in SQL as ``GROUP BY days`` and read here, so no
backend needs ``percentile_cont`` and no row is loaded one by one)."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class year_month(FunctionElement):  # noqa: N801 - an SQL function, named like one
    """``'2026-11'`` of a date or timestamp column."""

    type = String()
    inherit_cache = True


@compiles(year_month)
def _year_month_pg(element, compiler, **kw):
    (column,) = list(element.clauses)
    return f"to_char({compiler.process(column, **kw)}, 'YYYY-MM')"


@compiles(year_month, "sqlite")
def _year_month_sqlite(element, compiler, **kw):
    (column,) = list(element.clauses)
    return f"strftime('%Y-%m', {compiler.process(column, **kw)})"


class days_between(FunctionElement):  # noqa: N801
    """Whole days from ``earlier`` to ``later`` (dates or timestamps; a timestamp counts
    by its date). NULL when either is NULL."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_between_pg(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (
        f"(CAST({compiler.process(later, **kw)} AS DATE) - "
        f"CAST({compiler.process(earlier, **kw)} AS DATE))"
    )


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (
        f"CAST(julianday(date({compiler.process(later, **kw)})) - "
        f"julianday(date({compiler.process(earlier, **kw)})) AS INTEGER)"
    )


def median(histogram: dict[int, int]) -> float | None:
    """The median of values given as {value: how many}; None when there are none."""
    total = sum(histogram.values())
    if total == 0:
        return None
    lower_rank, upper_rank = (total - 1) // 2, total // 2
    lower = upper = None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if lower is None and seen > lower_rank:
            lower = value
        if seen > upper_rank:
            upper = value
            break
    return (lower + upper) / 2
