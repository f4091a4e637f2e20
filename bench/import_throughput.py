"""Excel import throughput: builds a workbook of N household rows (default 50,000;
every fifth row a member of the household before it), runs the dry run (the check
job) on it, and reports rows per second and the peak resident memory of the process.

    .venv/bin/python bench/import_throughput.py                 # SQLite in a temp dir
    .venv/bin/python bench/import_throughput.py --rows 2000
    .venv/bin/python bench/import_throughput.py --database postgresql://postgres@127.0.0.1:5432/bench_import
    .venv/bin/python bench/import_throughput.py --commit        # also time the commit

Targets (issue 12): at least 2,000 rows/s validated, at most 300 MB peak RSS. The
commit reports its wall and CPU seconds (the machine's load average beside them: on
a shared machine the wall time says more about the neighbours than about the code)
and the share of the audit trail's after_flush listener (one audit row per record).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_workbook(rows: int, community: str) -> bytes:
    from openpyxl import Workbook

    from app.validation import id_check_digit

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("困难家庭")
    sheet.append(
        [
            "户主",
            "身份证号",
            "联系电话",
            "社区",
            "地址",
            "来源渠道",
            "月收入（元）",
            "成员姓名",
            "与户主关系",
            "成员身份证号",
        ]
    )
    head = None
    for n in range(rows):
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=n // 900)
        first17 = f"110101{birth:%Y%m%d}{100 + n % 900:03d}"
        number = first17 + id_check_digit(first17)
        if n % 5 == 4 and head is not None:
            sheet.append(
                [head[0], head[1], None, None, None, None, None, f"成员{n}", "子女", number]
            )
        else:
            head = (f"户主{n}", number)
            sheet.append(
                [
                    head[0],
                    number,
                    f"139{n:08d}",
                    community,
                    f"和平路{n}号",
                    "主动求助",
                    "1200.50",
                    None,
                    None,
                    None,
                ]
            )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _time_audit_listener() -> dict:
    """Wraps the audit trail's after_flush listener to add up its time."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from app.models import audit

    spent = {"wall": 0.0, "cpu": 0.0}
    original = audit._collect

    def timed(session, flush_context):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            original(session, flush_context)
        finally:
            spent["wall"] += time.perf_counter() - wall
            spent["cpu"] += time.process_time() - cpu

    event.remove(Session, "after_flush", original)
    event.listen(Session, "after_flush", timed)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--commit", action="store_true")
    args = parser.parse_args()
    from app import create_app
    from app.extensions import db
    from config import TestConfig

    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        db.create_all()
        from tests.factories import make_world

        world = make_world()
        db.session.commit()
        data = build_workbook(args.rows, world.community.name)
        print(f"workbook: {args.rows} rows, {len(data) / 1e6:.1f} MB")
        from app.services import imports

        started = time.perf_counter()
        batch = imports.start_import(
            user=world.clerk, kind="households", file_name="bench.xlsx", data=data
        )
        checked = time.perf_counter() - started
        print(
            f"dry run: {batch.status} {batch.counts} in {checked:.1f} s = "
            f"{args.rows / checked:.0f} rows/s"
        )
        if args.commit:
            audit = _time_audit_listener()
            load = os.getloadavg()[0]
            started, cpu = time.perf_counter(), time.process_time()
            batch = imports.request_commit(batch, user=world.clerk, mode="all")
            took, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"commit: {batch.status} {batch.committed_counts} in {took:.1f} s = "
                f"{args.rows / took:.0f} rows/s (CPU {cpu:.1f} s = {args.rows / cpu:.0f} "
                f"rows/s; load average {load:.1f} -> {os.getloadavg()[0]:.1f})"
            )
            print(
                f"  audit rows (after_flush): {audit['wall']:.1f} s wall, "
                f"{audit['cpu']:.1f} s CPU = {100 * audit['cpu'] / cpu:.0f}% of the commit's CPU"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: {peak:.0f} MB")
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


if __name__ == "__main__":
    main()
