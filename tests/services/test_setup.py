"""Set-up paths a deployment relies on: migrations, demo data, CLI, configuration."""

import itertools
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from app import create_app
from app.demo import seed_demo
from app.extensions import db
from app.models import (
    Area,
    Household,
    Member,
    Need,
    NeedMatch,
    Project,
    Resource,
    ServiceRecord,
    StoredFile,
    SupportPlan,
    User,
)
from app.models import choices as c
from app.models.household import GRAMS_INDEXES
from app.services import casework, fund
from tests.conftest import config_for
from tests.factories import area_named

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_build_an_empty_database_that_matches_the_models(backend):
    url = backend.fresh_empty() if hasattr(backend, "fresh_empty") else None
    if url is None:
        pytest.skip("backend cannot make an empty database")
    app = create_app(config_for(url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _compared})
            diff = compare_metadata(context, db.metadata)
            indexes = (
                set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars())
                if (backend.name == "postgresql")
                else set(GRAMS_INDEXES)
            )
        assert diff == [], f"models and migrations differ: {diff}"
        # the search indexes over an expression, which the models make by DDL on
        # PostgreSQL (``db.create_all``) and the migration makes too
        assert set(GRAMS_INDEXES) <= indexes
        db.engine.dispose()
    backend.drop(url)


def _compared(obj, name, type_, reflected, compare_to) -> bool:
    """What alembic compares: all but the PostgreSQL-only expression indexes, which it
    cannot read back (checked by name above)."""
    return not (type_ == "index" and name in GRAMS_INDEXES)


def _counts():
    return {
        m.__name__: db.session.scalar(select(func.count()).select_from(m))
        for m in (Area, Household, Member, Need, Resource, Project, User)
    }


@pytest.mark.demo
def test_seed_demo_is_idempotent(app):
    before = _counts()
    seed_demo(60)
    assert _counts() == before


@pytest.mark.demo
def test_demo_district_has_what_the_issue_lists(app):
    streets = db.session.scalars(select(Area).where(Area.level == "street")).all()
    assert len(streets) == 4 and "城东街道" in {s.name for s in streets}
    for street in streets:
        assert 3 <= len(street.children) <= 5
    assert db.session.scalar(select(func.count()).select_from(Project)) == 25
    statuses = set(db.session.scalars(select(Project.status)))
    assert statuses == {"draft", "open", "claimed", "in_progress", "completed", "cancelled"}
    dims = set(db.session.scalars(select(Need.dimension)))
    assert dims == {"physiological", "psychological", "social", "daily_living", "employment"}
    for username in ("admin", "manager", "chengdong", "worker", "sponsor"):
        assert db.session.scalar(select(User).where(User.username == username))


@pytest.mark.demo
def test_demo_households_referred_name_their_referrer(app):
    referred = db.session.scalars(
        select(Household).where(Household.intake_channel.in_(casework.REFERRAL_CHANNELS))
    ).all()
    assert referred
    for household in referred:
        assert household.referrer_organisation_id or household.referrer_person


@pytest.mark.demo
def test_demo_statuses_match_their_history(app):
    households = db.session.scalars(select(Household)).all()
    for household in households:
        if household.transitions:
            assert household.transitions[-1].to_status == household.status
            for before, after in itertools.pairwise(household.transitions):
                assert before.to_status == after.from_status
                assert (after.from_status, after.to_status) in set(c.CASE_TRANSITIONS)
        else:
            assert household.status == "registered"


@pytest.mark.demo
def test_demo_matches_and_records_are_consistent(app):
    """Demo matches and service records are spread over communities and streets, and
    each resource's used capacity is exactly what its active matches take."""
    for model in (NeedMatch, ServiceRecord):
        communities = set(db.session.scalars(select(model.community_id)))
        assert area_named("和平社区").id in communities
        assert area_named("东郢社区").id in communities
        streets = set(db.session.scalars(select(model.street_id)))
        assert streets - {area_named("城东街道").id}
    for resource in db.session.scalars(select(Resource)):
        active = db.session.scalar(
            select(func.coalesce(func.sum(NeedMatch.quantity), 0)).where(
                NeedMatch.resource_id == resource.id, NeedMatch.status == "active"
            )
        )
        assert Decimal(str(resource.used_quantity)) == Decimal(str(active)), resource.name
    for match in db.session.scalars(select(NeedMatch).where(NeedMatch.status == "active")):
        assert match.need.status in ("matched", "in_progress", "met")
    shared = db.session.scalars(select(StoredFile).where(StoredFile.is_shareable.is_(True))).all()
    assert shared and all(f.project_id is not None and f.kind == "photo" for f in shared)


@pytest.mark.demo
def test_demo_ledger_sums_to_the_account_balance(app):
    held, summed = fund.check_balance()
    assert held == summed > 0
    plan = db.session.scalar(select(SupportPlan).where(SupportPlan.name.like("睦邻计划%")))
    assert [m.status for m in plan.months] == ["paid", "checked", "awaiting_evidence"]


def test_no_accounts_exist_without_seed_or_create_user(backend):
    url = backend.fresh_empty()
    app = create_app(config_for(url))
    with app.app_context():
        db.create_all()
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        client = app.test_client()
        assert (
            client.post(
                "/login", data={"username": "admin", "password": "yijia-demo-2019"}
            ).status_code
            == 200
        )
        db.session.remove()
        db.engine.dispose()
    backend.drop(url)


def test_cli_sets_up_a_deployment(tmp_path):
    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "PYTHONPATH": str(ROOT),
    }
    flask = [sys.executable, "-m", "flask"]

    def run(*args, ok=True):
        result = subprocess.run(
            flask + list(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert (result.returncode == 0) is ok, result.stderr
        return result

    run("db", "upgrade")
    run("add-area", "--name", "瑶海区", "--level", "district")
    run(
        "create-user",
        "--username",
        "boss",
        "--full-name",
        "管理员",
        "--role",
        "district_admin",
        "--area",
        "瑶海区",
        "--password",
        "long-enough-password",
    )
    bad = run(
        "create-user",
        "--username",
        "x",
        "--full-name",
        "x",
        "--role",
        "street_clerk",
        "--area",
        "瑶海区",
        "--password",
        "long-enough-password",
        ok=False,
    )
    assert "Error" in bad.stderr
    run("seed-demo", "--households", "10")
    second = run("seed-demo", "--households", "10")
    assert "'Household': 0" in second.stdout


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    from config import ProductionConfig

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        ProductionConfig()
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    assert ProductionConfig().SECRET_KEY == "x" * 32
