"""Load a province-sized district into a PostgreSQL database of its own, deterministically,
with COPY: ``households`` households (default 1,000,000) in 10 streets × 10 communities,
2.5 members and 5 needs per household on average, a home visit for every assessed case,
and one household (the first of street 1) with 20 visits and 50 needs for the story page.

    .venv/bin/python bench/scale_data.py --households 1000000 --database yijia_scale_1m

ID numbers are valid GB 11643 numbers (region, birth date, sequence, check digit) and
unique by construction; names and addresses are Chinese. The schema is built by the
migrations (``flask db upgrade``), the areas and users through the models; the bulk rows
go in with COPY (no audit rows: the trail records what people do, not a benchmark's
load). Users: ``admin`` (district administrator), ``manager``, ``clerk`` (street 1),
``worker`` (community 1 of street 1), password ``bench-password-1``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.validation import id_check_digit  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "bench-password-1"
STREETS, COMMUNITIES = 10, 10
SURNAMES = "张王李刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = (
    "秀英 桂英 秀兰 玉兰 建国 建华 志强 国强 桂兰 淑珍 明 伟 芳 娜 敏 静 丽 强 磊 军 "
    "洋 勇 艳 杰 娟 涛 超 霞 平 刚"
).split()
STREET_NAMES = [f"{n}街道" for n in "城东 明光 胜利 三里街 红光 和平 大兴 方庙 七里站 铜陵".split()]
STATUSES = ["registered"] * 1 + ["assessed"] * 2 + ["helping"] * 6 + ["closed"] * 1
CHANNELS = [
    "government_referral",
    "hospital_referral",
    "institution_referral",
    "self_request",
    "community_discovery",
    "resident_referral",
]
DIMENSIONS = {
    "physiological": ["medical", "nursing", "assistive_device"],
    "psychological": ["counselling"],
    "social": ["policy", "other"],
    "daily_living": ["meals", "home_repair", "warm_pack", "financial"],
    "employment": ["employment_guidance"],
}
NEED_STATUSES = ["open"] * 3 + ["matched"] * 2 + ["in_progress"] + ["met"] * 3 + ["withdrawn"]
RELATIONS = ["spouse", "child", "parent", "grandchild", "sibling"]
EPOCH = dt.date(1940, 1, 1)
TODAY = dt.date.today()


def id_number(person: int, region: str = "340102") -> str:
    """The ``person``-th unique valid ID number: birth date from person // 1000, the
    sequence from person % 1000 (odd/even also gives the gender)."""
    born = EPOCH + dt.timedelta(days=person // 1000)
    first17 = f"{region}{born:%Y%m%d}{person % 1000:03d}"
    return first17 + id_check_digit(first17)


def born_on(person: int) -> dt.date:
    return EPOCH + dt.timedelta(days=person // 1000)


def gender(person: int) -> str:
    return "male" if (person % 1000) % 2 else "female"


def esc(value) -> str:
    if value is None:
        return r"\N"
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def copy_rows(conn, table: str, columns: list[str], rows) -> int:
    n = 0
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            buf = []
            for row in rows:
                buf.append("\t".join(esc(v) for v in row))
                n += 1
                if len(buf) >= 20000:
                    copy.write("\n".join(buf) + "\n")
                    buf.clear()
            if buf:
                copy.write("\n".join(buf) + "\n")
    return n


def build_schema(url: str) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from config import TestConfig

    cfg = type("BenchCfg", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    app = create_app(cfg)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))


def seed_people(url: str) -> dict:
    """Areas and users through the models (their rules and derived columns)."""
    from werkzeug.security import generate_password_hash

    from app import create_app
    from app.extensions import db
    from app.models import Area, User
    from config import TestConfig

    cfg = type("BenchCfg", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    app = create_app(cfg)
    with app.app_context():
        district = Area(name="瑶海区", level="district", code="340102")
        db.session.add(district)
        streets, communities = [], []
        for s in range(STREETS):
            street = Area(name=STREET_NAMES[s], level="street", parent=district)
            db.session.add(street)
            streets.append(street)
            for c in range(COMMUNITIES):
                community = Area(name=f"第{c + 1}社区", level="community", parent=street)
                db.session.add(community)
                communities.append(community)
        db.session.flush()
        hashed = generate_password_hash(PASSWORD)
        users = {
            "admin": ("district_admin", district),
            "manager": ("district_manager", district),
            "clerk": ("street_clerk", streets[0]),
            "worker": ("community_worker", communities[0]),
        }
        made = {}
        for username, (role, area) in users.items():
            user = User(
                username=username,
                full_name=username,
                password_hash=hashed,
                role=role,
                area=area,
                is_active=True,
                must_change_password=False,
                locale="zh_Hans_CN",
            )
            db.session.add(user)
            made[username] = user
        db.session.commit()
        return {
            "communities": [(c.id, c.parent_id, c.parent.name + c.name) for c in communities],
            "worker": made["worker"].id,
        }


def load(url: str, households: int) -> None:
    info = seed_people(url)
    communities = info["communities"]
    worker = info["worker"]
    now = dt.datetime.now().replace(microsecond=0)
    pg = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(pg, autocommit=False) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK checks per row
        t = time.perf_counter()

        def household_rows():
            for i in range(households):
                cid, sid, where = communities[i % len(communities)]
                status = STATUSES[(i // 7) % len(STATUSES)]
                intake = TODAY - dt.timedelta(days=10 + (i * 37) % 700)
                yield (
                    i + 1,
                    SURNAMES[i % 20] + GIVEN[(i // 20) % len(GIVEN)],
                    id_number(i),
                    gender(i),
                    born_on(i),
                    f"139{i:08d}",
                    f"{where}{i % 97 + 1}栋{i % 31 + 1}0{i % 4 + 1}室",
                    "1200.00",
                    CHANNELS[i % 6],
                    intake,
                    status,
                    sid,
                    cid,
                    now,
                    now,
                )

        copy_rows(
            conn,
            "households",
            "id head_name head_id_number head_gender head_birth_date head_phone address "
            "monthly_income intake_channel intake_date status street_id community_id "
            "created_at updated_at".split(),
            household_rows(),
        )
        print(f"  households: {households:,} in {time.perf_counter() - t:.0f} s", flush=True)

        t = time.perf_counter()

        def member_rows():
            person, mid = households, 0
            for i in range(households):
                cid, sid, _ = communities[i % len(communities)]
                for k in range(2 + i % 2):  # 2 or 3: 2.5 on average
                    mid += 1
                    yield (
                        mid,
                        i + 1,
                        sid,
                        cid,
                        SURNAMES[(i + k + 3) % 20] + GIVEN[(i + k) % len(GIVEN)],
                        RELATIONS[k % len(RELATIONS)],
                        id_number(person),
                        gender(person),
                        born_on(person),
                        now,
                        now,
                    )
                    person += 1

        members = copy_rows(
            conn,
            "household_members",
            "id household_id street_id community_id name relation id_number gender "
            "birth_date created_at updated_at".split(),
            member_rows(),
        )
        print(f"  members: {members:,} in {time.perf_counter() - t:.0f} s", flush=True)

        t = time.perf_counter()
        dims = list(DIMENSIONS)
        story = 1  # household 1 (street 1, community 1): 20 visits, 50 needs

        def assessment_rows():
            aid = 0
            for i in range(households):
                status = STATUSES[(i // 7) % len(STATUSES)]
                if status == "registered":
                    continue
                cid, sid, _ = communities[i % len(communities)]
                intake = TODAY - dt.timedelta(days=10 + (i * 37) % 700)
                visits = 20 if i + 1 == story else 1
                for v in range(visits):
                    aid += 1
                    yield (
                        aid,
                        i + 1,
                        sid,
                        cid,
                        min(intake + dt.timedelta(days=3 + v * 5), TODAY),
                        worker,
                        "入户走访，了解家庭情况。",
                        *[1 + (i + v + d) % 5 for d in range(5)],
                        now,
                        now,
                    )

        visits = copy_rows(
            conn,
            "assessments",
            "id household_id street_id community_id visit_date visiting_worker_id findings "
            "severity_physiological severity_psychological severity_social "
            "severity_daily_living severity_employment created_at updated_at".split(),
            assessment_rows(),
        )
        print(f"  visits: {visits:,} in {time.perf_counter() - t:.0f} s", flush=True)

        t = time.perf_counter()

        def need_rows():
            nid = 0
            for i in range(households):
                cid, sid, _ = communities[i % len(communities)]
                intake = TODAY - dt.timedelta(days=10 + (i * 37) % 700)
                for k in range(50 if i + 1 == story else 5):
                    nid += 1
                    dim = dims[(i + k) % 5]
                    cats = DIMENSIONS[dim]
                    status = NEED_STATUSES[(i * 3 + k) % len(NEED_STATUSES)]
                    found = min(intake + dt.timedelta(days=4 + k), TODAY)
                    yield (
                        nid,
                        i + 1,
                        sid,
                        cid,
                        dim,
                        cats[(i + k) % len(cats)],
                        "入户评估中发现的需求",
                        "normal",
                        status,
                        found,
                        found + dt.timedelta(days=20) if status == "met" else None,
                        now,
                        now,
                    )

        needs = copy_rows(
            conn,
            "needs",
            "id household_id street_id community_id dimension category description urgency "
            "status identified_on resolved_on created_at updated_at".split(),
            need_rows(),
        )
        print(f"  needs: {needs:,} in {time.perf_counter() - t:.0f} s", flush=True)
        for table in ("households", "household_members", "assessments", "needs"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        conn.commit()
    with psycopg.connect(pg, autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        print(f"  vacuum analyze in {time.perf_counter() - t:.0f} s", flush=True)


def _loaded(server: str, database: str, households: int) -> bool:
    try:
        with psycopg.connect(f"{server}/{database}") as conn:
            return conn.execute("SELECT count(*) FROM households").fetchone()[0] >= households
    except psycopg.Error:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--database", default="yijia_scale_1m")
    parser.add_argument("--server", default=SERVER)
    parser.add_argument(
        "--if-missing", action="store_true", help="keep the database if it is already loaded"
    )
    args = parser.parse_args()
    url = f"{args.server.replace('postgresql://', 'postgresql+psycopg://')}/{args.database}"
    if args.if_missing and _loaded(args.server, args.database, args.households):
        print(f"{args.database}: already loaded; upgrading its schema only", flush=True)
        build_schema(url)
        return
    with psycopg.connect(f"{args.server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    started = time.perf_counter()
    print(f"building {args.database}: schema by the migrations", flush=True)
    build_schema(url)
    load(url, args.households)
    print(f"done in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
