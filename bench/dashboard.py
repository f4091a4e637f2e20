"""How fast the dashboard's figures are (``app/services/dashboard``): statements and
time for the district and for one street, the median and best of ``--repeat`` after a
warm-up, and EXPLAIN (ANALYZE, BUFFERS) of the slowest statement. Not part of the
test run.

The dashboard reads the summary table (``dashboard_daily``) when the database has a
refresh (``flask dashboard-refresh``); ``--live`` measures the live computation
instead, ``--refresh`` times a full refresh first (it commits: the summary stays).

    .venv/bin/python bench/dashboard.py --repeat 5                        # yijia_scale_1m
    .venv/bin/python bench/dashboard.py --refresh --repeat 5              # + a refresh
    .venv/bin/python bench/dashboard.py --url postgresql://postgres@127.0.0.1:5432/yijia_scale_10k
    .venv/bin/python bench/dashboard.py --with-indexes                    # + this issue's

The database is one loaded by ``bench/scale_data.py`` (1,000,000 households, 5,000,000
needs). ``--with-indexes`` creates the indexes of migration c3d4e5f6a713 inside the
bench's own transaction and rolls them back at the end, so a database built at an older
revision can be measured with them without being changed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select, text  # noqa: E402

from app import access, create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Area  # noqa: E402
from app.services import dashboard  # noqa: E402
from config import TestConfig  # noqa: E402

INDEXES = [
    "CREATE INDEX ix_households_street_intake ON households (street_id, intake_date)",
    "CREATE INDEX ix_households_community_intake ON households (community_id, intake_date)",
    "CREATE INDEX ix_needs_street_identified ON needs (street_id, identified_on)",
    "CREATE INDEX ix_needs_community_identified ON needs (community_id, identified_on)",
    "CREATE INDEX ix_service_record_needs_need ON service_record_needs (need_id)",
]


class Timer:
    """Each statement's SQL, parameters and time, on the app's engine."""

    def __init__(self):
        self.rows: list[tuple[float, str, object]] = []

    def before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_start"] = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - conn.info.pop("bench_start")
        self.rows.append((took, statement, parameters))


def measure(scope, period, repeat: int, today: dt.date, use_summary: bool = True):
    """(median seconds, best seconds, the statements of the median run)."""
    dashboard.build(scope, period, today=today, use_summary=use_summary)  # warm-up
    runs = []
    for _ in range(repeat):
        timer = Timer()
        event.listen(db.engine, "before_cursor_execute", timer.before)
        event.listen(db.engine, "after_cursor_execute", timer.after)
        start = time.perf_counter()
        dashboard.build(scope, period, today=today, use_summary=use_summary)
        took = time.perf_counter() - start
        event.remove(db.engine, "before_cursor_execute", timer.before)
        event.remove(db.engine, "after_cursor_execute", timer.after)
        runs.append((took, timer.rows))
    runs.sort(key=lambda r: r[0])
    middle = runs[len(runs) // 2]
    return statistics.median(t for t, _r in runs), runs[0][0], middle[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/yijia_scale_1m")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-indexes", action="store_true")
    parser.add_argument("--live", action="store_true", help="without the summary table")
    parser.add_argument("--refresh", action="store_true", help="time a full refresh first")
    parser.add_argument("--today", default="2026-12-02", help="the day the page is opened")
    args = parser.parse_args()
    today = dt.date.fromisoformat(args.today)

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = args.url

    app = create_app(BenchConfig)
    with app.app_context():
        session = db.session
        if args.with_indexes:
            for ddl in INDEXES:
                session.execute(text(ddl.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS")))
            session.execute(text("ANALYZE households; ANALYZE needs"))
        if args.refresh:
            from app.services.dashboard import summary

            done = summary.refresh(today=today, source="bench/dashboard.py")
            print(
                f"refresh: days {done.day_from} to {done.day_to}, {done.rows:,} summary rows, "
                f"{done.seconds:.1f} s"
            )
        counts = session.execute(
            text("SELECT (SELECT count(*) FROM households), (SELECT count(*) FROM needs)")
        ).one()
        street = session.scalar(select(Area).where(Area.level == "street").order_by(Area.id))
        print(
            f"database {args.url.rsplit('/', 1)[-1]}: {counts[0]:,} households, "
            f"{counts[1]:,} needs; indexes of c3d4e5f6a713: "
            f"{'created in this transaction' if args.with_indexes else 'as the database has them'}"
        )
        cases = [
            ("district", access.Scope(role="district_manager")),
            (f"street {street.name}", access.Scope(role="district_manager", street_id=street.id)),
        ]
        for period_kind in ("this_year", "last_month"):
            period = dashboard.period_for(period_kind, today)
            for name, scope in cases:
                middle, best, rows = measure(scope, period, args.repeat, today, not args.live)
                slowest = max(rows, key=lambda r: r[0])
                print(
                    f"{period_kind:10} {name:14} {len(rows):2} statements  median "
                    f"{middle * 1000:7.1f} ms  best {best * 1000:7.1f} ms  slowest statement "
                    f"{slowest[0] * 1000:6.1f} ms"
                )
        board = dashboard.build(cases[0][1], dashboard.period_for("this_year", today), today=today)
        print(
            f"read from the summary: {'no (live)' if args.live or board.refresh is None else 'yes'}"
            + (
                f", refreshed {board.refresh.finished_at:%Y-%m-%d %H:%M} UTC"
                if board.refresh
                else ""
            )
        )
        # the slowest statement of the district's year, explained
        period = dashboard.period_for("this_year", today)
        _median, _best, rows = measure(cases[0][1], period, 1, today, not args.live)
        took, statement, parameters = max(rows, key=lambda r: r[0])
        print(f"\nslowest statement (district, this year, {took * 1000:.1f} ms):\n{statement}\n")
        raw = session.connection().connection.dbapi_connection
        with raw.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            for (line,) in cursor.fetchall():
                print(line)
        session.rollback()  # the indexes (if made here) go with it


if __name__ == "__main__":
    main()
