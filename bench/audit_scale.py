"""The history tab and the audit log at ten million audit rows, on PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/audit_scale.py [--rows 10000000] [--keep NAME]

Makes a scratch database next to the one the URL names and builds it with the
migrations (``flask db upgrade``: the indexes measured are the ones deployed), adds a
small district through the factories (4 streets, 60 users, 2,000 households with a
member and a need each), then loads ``--rows`` audit events with one
``INSERT … SELECT generate_series`` (the indexes are dropped for the load and built
again after it, as a bulk load is done; the immutability triggers fire on UPDATE,
DELETE and TRUNCATE only). The events are spread over a year, 60 users, 4 streets, 8
record types and a few hundred thousand records; the measured household also has 3,000
events of its own and its parts.

Then, through the app as the district admin (Flask test client, median of 9 after a
warm-up), it times: a household's details page with its 变更记录, the audit log's first
page, one user's day, one record's events, one action and one street; and prints
``EXPLAIN (ANALYZE, BUFFERS)`` of each page's statements on ``audit_events``.
``--keep NAME`` keeps the database (named NAME) for another run: loading is skipped
when it already holds the rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from config import TestConfig  # noqa: E402

RUNS = 9
HOUSEHOLDS = 2000
USERS = 60
MEASURED_EVENTS = 3000
TABLES = [
    "households",
    "household_members",
    "needs",
    "assessments",
    "case_transitions",
    "need_matches",
    "service_records",
    "resources",
]


def _app(url):
    return create_app(type("Cfg", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))


def build(url) -> None:
    """Schema by the migrations, and a small district through the factories."""
    from tests.factories import make_household, make_member, make_need, make_user, make_world

    app = _app(url)
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parents[1] / "migrations"))
        world = make_world()
        for i in range(USERS - 9):
            if i % 2:
                make_user("street_clerk", area=world.street)
            else:
                make_user("community_worker", area=world.community)
        for _ in range(HOUSEHOLDS):
            household = make_household(world.community)
            make_member(household)
            make_need(household)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _audit_indexes(conn) -> list[tuple[str, str]]:
    return list(
        conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_events'"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        )
    )


def load(url, rows: int) -> None:
    """``rows`` events in one statement, with the secondary indexes rebuilt after."""
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM audit_events")).scalar()
        if have >= rows:
            print(f"audit_events already holds {have:,} rows")
            return
        users = conn.execute(text("SELECT id, role FROM users ORDER BY id")).all()
        streets = conn.execute(
            text("SELECT id FROM areas WHERE level = 'street' ORDER BY id")
        ).scalars()
        streets = list(streets)
        measured = conn.execute(text("SELECT min(id) FROM households")).scalar()
        indexes = _audit_indexes(conn)
        for name, _definition in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    user_ids = "ARRAY[" + ",".join(str(u.id) for u in users) + "]"
    roles = "ARRAY[" + ",".join(f"'{u.role}'" for u in users) + "]"
    street_ids = "ARRAY[" + ",".join(map(str, streets)) + "]"
    tables = "ARRAY[" + ",".join(f"'{t}'" for t in TABLES) + "]"
    n_users, n_streets = len(users), len(streets)
    start = time.perf_counter()
    insert = f"""
        INSERT INTO audit_events (occurred_at, user_id, user_role, user_area_id, request_id,
            ip, source, action, record_type, record_id, street_id, household_id, changes)
        SELECT timestamp '2025-12-01' - (({rows} - g) * interval '3 seconds'),
               ({user_ids})[1 + g % {n_users}], ({roles})[1 + g % {n_users}], NULL,
               substr(md5(g::text), 1, 32), '10.0.' || (g % 250) || '.' || (g % 200),
               '/admin/household/edit/',
               CASE WHEN g % 100 < 60 THEN 'update' WHEN g % 100 < 85 THEN 'create'
                    WHEN g % 100 < 90 THEN 'reveal' WHEN g % 100 < 93 THEN 'export'
                    WHEN g % 100 < 99 THEN 'login' ELSE 'archive' END,
               ({tables})[1 + (g / 7) % 8],
               1 + (g::bigint * 7919) % 400000,
               ({street_ids})[1 + g % {n_streets}],
               CASE WHEN (g / 7) % 8 < 7 THEN 1 + (g::bigint * 31) % 200000 END,
               json_build_object('address', json_build_array('旧地址' || g, '新地址' || g))
        FROM generate_series(1, {rows} - {MEASURED_EVENTS}) AS g
    """
    measured_insert = f"""
        INSERT INTO audit_events (occurred_at, user_id, user_role, action, record_type,
            record_id, street_id, household_id, changes, source)
        SELECT timestamp '2025-01-01' + g * interval '2 hours', ({user_ids})[1 + g % {n_users}],
               ({roles})[1 + g % {n_users}], 'update',
               CASE WHEN g % 3 = 0 THEN 'households' ELSE 'household_members' END,
               {measured}, ({street_ids})[1], {measured},
               json_build_object('notes', json_build_array('旧' || g, '新' || g)),
               '/admin/household/edit/'
        FROM generate_series(1, {MEASURED_EVENTS}) AS g
    """
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        conn.execute(text(insert))
        conn.execute(text(measured_insert))
    print(f"loaded {rows:,} rows in {time.perf_counter() - start:.0f} s")
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for _name, definition in indexes:
            conn.execute(text(definition))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE audit_events"))
    print(f"indexes rebuilt and analysed in {time.perf_counter() - start:.0f} s")
    engine.dispose()


class Statements:
    """The statements on audit_events one page sends, with their parameters."""

    def __init__(self, engine):
        self.seen: list[tuple[str, object]] = []
        self.on = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, parameters, _context, _many):
        if self.on and "FROM audit_events" in statement:
            self.seen.append((statement, parameters))


def measure(url) -> None:
    from app.models import AuditEvent, Household, User
    from tests.factories import PASSWORD

    app = _app(url)
    with app.app_context():
        admin = db.session.scalars(select_admin(User)).one()
        household = db.session.scalars(db.select(Household).order_by(Household.id).limit(1)).one()
        busy = db.session.execute(
            text(
                "SELECT user_id, occurred_at::date FROM audit_events"
                " WHERE id = (SELECT max(id) - 5000 FROM audit_events)"
            )
        ).one()
        record = db.session.execute(
            text("SELECT record_type, record_id FROM audit_events WHERE id = 4242")
        ).one()
        street_id = db.session.scalar(text("SELECT min(id) FROM areas WHERE level = 'street'"))
        early = db.session.execute(
            text("SELECT user_id, occurred_at FROM audit_events WHERE id = 200000")
        ).one()
        statements = Statements(db.engine)
        client = app.test_client()
        response = client.post("/login", data={"username": admin.username, "password": PASSWORD})
        assert response.status_code == 302, "login failed"
        view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "audit")
        flt = {type(f).__name__ + str(f.column): i for i, f in enumerate(view._filters)}
        with app.test_request_context():
            day = view.day_url(busy.user_id, busy.occurred_at)
            early_day = view.day_url(early.user_id, early.occurred_at.date())
        when = flt[f"DateTimeBetweenFilter{AuditEvent.occurred_at}"]
        first_month = (
            f"{early.occurred_at:%Y-%m-%d} 00:00:00 to "
            f"{early.occurred_at + dt.timedelta(days=30):%Y-%m-%d} 23:59:59"
        )
        record_type = flt[f"FilterEqual{AuditEvent.record_type}"]
        record_id = flt[f"IntEqualFilter{AuditEvent.record_id}"]
        action = flt[f"FilterEqual{AuditEvent.action}"]
        street = flt[f"IntEqualFilter{AuditEvent.street_id}"]
        pages = {
            "history tab (household details)": f"/admin/household/details/?id={household.id}",
            "audit log, first page": "/admin/audit/",
            "audit log, one user's day": day,
            "audit log, one record": f"/admin/audit/?flt0_{record_type}={record.record_type}"
            f"&flt1_{record_id}={record.record_id}",
            "audit log, action = login": f"/admin/audit/?flt0_{action}=login",
            "audit log, one street": f"/admin/audit/?flt0_{street}={street_id}",
            "audit log, a user's day a year ago": early_day,
            "audit log, archives in the first month": f"/admin/audit/?flt0_{action}=archive"
            f"&flt1_{when}={first_month}",
            "audit log, one record type": f"/admin/audit/?flt0_{record_type}=resources",
        }
        results = {}
        for label, path in pages.items():
            assert client.get(path).status_code == 200, path  # warm-up
            times = []
            for _ in range(RUNS):
                start = time.perf_counter()
                body = client.get(path).get_data()
                times.append((time.perf_counter() - start) * 1000)
            statements.seen, statements.on = [], True
            client.get(path)
            statements.on = False
            results[label] = (statistics.median(times), max(times), list(statements.seen))
            assert body
        db.session.remove()
        for label, (median, worst, _seen) in results.items():
            print(f"{label:42} median {median:6.1f} ms  (worst {worst:6.1f} ms)")
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for label, (_median, _worst, seen) in results.items():
                print(f"\n=== {label}: {len(seen)} statement(s) on audit_events")
                for statement, parameters in seen:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    print(" ".join(statement.split())[:400])
                    print("\n".join(row[0] for row in cursor.fetchall()))
        finally:
            raw.close()
        db.engine.dispose()


def select_admin(User):
    return db.select(User).where(User.role == "district_admin").order_by(User.id).limit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", help="name of a database to keep (and reuse) for later runs")
    args = parser.parse_args()
    base = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
    server = create_engine(base, isolation_level="AUTOCOMMIT")
    name = args.keep or f"yijia_audit_scale_{os.getpid()}"
    with server.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        if not exists:
            build(url)
        load(url, args.rows)
        measure(url)
    finally:
        if not args.keep:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
    print(f"\n(at {dt.datetime.now():%Y-%m-%d %H:%M}, {args.rows:,} rows)")


if __name__ == "__main__":
    main()
