"""How a household list page scales: SQL statements and time per page as the table
grows. Not part of the test run.

    .venv/bin/python bench/list_queries.py                 # SQLite, 2k and 20k households
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/test .venv/bin/python bench/list_queries.py
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.demo import DEMO_PASSWORD, seed_demo  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Area, Household  # noqa: E402
from app.validation import id_check_digit  # noqa: E402
from config import TestConfig  # noqa: E402


def bulk_households(total: int) -> None:
    communities = db.session.scalars(select(Area).where(Area.level == "community")).all()
    rows, have = [], db.session.query(Household).count()
    for i in range(have, total):
        first17 = f"340102{1950 + i % 50}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        number = first17 + id_check_digit(first17)
        c = communities[i % len(communities)]
        rows.append(
            dict(
                head_name=f"住户{i}",
                head_id_number=f"{number[:-4]}{i:04d}"[-18:],
                address="x",
                community_id=c.id,
                street_id=c.parent_id,
                intake_channel="self_request",
                status="registered",
            )
        )
    # unique numbers are what matter here, not valid check digits: insert past validators
    seen, clean = set(), []
    for r in rows:
        if r["head_id_number"] not in seen:
            seen.add(r["head_id_number"])
            clean.append(r)
    for start in range(0, len(clean), 5000):
        db.session.execute(insert(Household), clean[start : start + 5000])
    db.session.commit()


def measure(app, client, path, repeat=5):
    statements = []
    listener = lambda *a, **k: statements.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    start = time.perf_counter()
    for _ in range(repeat):
        assert client.get(path).status_code == 200
    elapsed = (time.perf_counter() - start) / repeat
    event.remove(db.engine, "before_cursor_execute", listener)
    return len(statements) // repeat, elapsed


def main():
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    url = url.replace("postgresql://", "postgresql+psycopg://")
    app = create_app(type("C", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    with app.app_context():
        db.drop_all()
        db.create_all()
        seed_demo(20)
        for total in (2000, 20000):
            bulk_households(total)
            client = app.test_client()
            client.post("/login", data={"username": "admin", "password": DEMO_PASSWORD})
            for path in (
                "/admin/household/?page_size=20",
                "/admin/household/?page_size=100",
                "/admin/household/?page_size=20&flt0_0=1",
            ):
                queries, seconds = measure(app, client, path)
                print(
                    f"{total:>6} households  {path:<40} {queries:>3} queries  "
                    f"{seconds * 1000:7.1f} ms/page"
                )
        db.drop_all()


if __name__ == "__main__":
    main()
