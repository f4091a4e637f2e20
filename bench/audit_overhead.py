"""The cost of the audit trail on a save: 1,000 household updates (one commit each) on
PostgreSQL, with the audit listener and without it.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/audit_overhead.py

Makes (and drops) its own database next to the one the URL names.
"""

import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import audit  # noqa: E402
from config import TestConfig  # noqa: E402

N = 1000


def run(households, label):
    start = time.perf_counter()
    for i in range(N):
        household = households[i % len(households)]
        household.address = f"测试路{uuid.uuid4().hex[:6]}号"
        household.head_phone = f"139{i:08d}"
        db.session.commit()
    per_save = (time.perf_counter() - start) / N * 1000
    print(f"{label}: {per_save:.2f} ms per save")
    return per_save


def main():
    base = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"yijia_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    app = create_app(type("Cfg", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    try:
        with app.app_context():
            db.create_all()
            from tests.factories import make_household, make_world

            world = make_world()
            households = [make_household(world.community) for _ in range(50)]
            db.session.commit()
            run(households, "warm-up")
            rounds = []
            for _ in range(5):
                event.remove(Session, "after_flush", audit._collect)
                without = run(households, "without the listener")
                event.listen(Session, "after_flush", audit._collect)
                with_ = run(households, "with the listener")
                rounds.append(with_ - without)
            rows = db.session.scalar(text("SELECT count(*) FROM audit_events"))
            print(f"overhead per save: {min(rounds):.2f}–{max(rounds):.2f} ms; audit rows {rows}")
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
