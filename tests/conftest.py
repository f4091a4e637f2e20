"""Fixtures: an app per backend with the demo district, logged-in clients per role.

The suite always runs on SQLite. When TEST_DATABASE_URL points at a reachable
PostgreSQL server it runs on PostgreSQL too; otherwise those cases are skipped with
the reason printed in the summary.

Speed: the demo district is built once per backend as a template (an SQLite file, a
PostgreSQL template database); each test that writes gets a fresh copy of it.
"""

import contextvars
import os
import re
import shutil
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.demo import DEMO_PASSWORD, seed_demo
from app.extensions import db
from config import TestConfig

DEMO_HOUSEHOLDS = 60
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def _pg_admin_engine():
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT"), url


def _pg_reachable() -> str | None:
    """None when usable, else why not."""
    if not PG_URL:
        return "TEST_DATABASE_URL is not set"
    try:
        engine, _ = _pg_admin_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL at TEST_DATABASE_URL is unreachable ({type(exc).__name__})"
    return None


PG_SKIP_REASON = _pg_reachable()
if PG_SKIP_REASON and os.environ.get("REQUIRE_POSTGRES") == "1":
    raise RuntimeError(f"REQUIRE_POSTGRES=1 but {PG_SKIP_REASON}")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[pytest.mark.postgresql]
        + (
            [pytest.mark.skip(reason=f"PostgreSQL tests skipped: {PG_SKIP_REASON}")]
            if PG_SKIP_REASON
            else []
        ),
    ),
]


def pytest_report_header(config):
    if PG_SKIP_REASON:
        return f"PostgreSQL: SKIPPED ({PG_SKIP_REASON})"
    return f"PostgreSQL: {make_url(PG_URL).render_as_string(hide_password=True)}"


def config_for(url: str, **extra):
    return type("Cfg", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, **extra})


def build_schema_and_seed(url: str, upload_folder) -> None:
    # demo evidence files go to a temporary folder, never to instance/uploads
    app = create_app(config_for(url, UPLOAD_FOLDER=str(upload_folder)))
    with app.app_context():
        db.create_all()
        seed_demo(DEMO_HOUSEHOLDS)
        db.session.remove()
        db.engine.dispose()


class Backend:
    """Makes databases holding the demo district on one backend."""

    def __init__(self, name: str, tmp_path_factory):
        self.name = name
        self.tmp = tmp_path_factory.mktemp(f"db-{name}")
        self.created: list[str] = []
        if name == "sqlite":
            self.template = self.tmp / "template.sqlite3"
            build_schema_and_seed(f"sqlite:///{self.template}", self.tmp / "uploads")
        else:
            self.engine, base = _pg_admin_engine()
            self.base_url = base
            self.template = f"yijia_tpl_{uuid.uuid4().hex[:8]}"
            with self.engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.template}"'))
            build_schema_and_seed(self._url(self.template), self.tmp / "uploads")

    def _url(self, name: str) -> str:
        return self.base_url.set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        """URL of a new database holding a copy of the demo district."""
        if self.name == "sqlite":
            path = self.tmp / f"{uuid.uuid4().hex}.sqlite3"
            shutil.copy(self.template, path)
            return f"sqlite:///{path}"
        name = f"yijia_t_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.created.append(name)
        return self._url(name)

    def fresh_empty(self) -> str:
        """URL of a new, empty database."""
        if self.name == "sqlite":
            return f"sqlite:///{self.tmp / uuid.uuid4().hex}.sqlite3"
        name = f"yijia_e_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        if self.name == "sqlite":
            return
        name = make_url(url).database
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self.name == "postgresql":
            with self.engine.connect() as conn:
                for name in self.created + [self.template]:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory):
    b = Backend(request.param, tmp_path_factory)
    yield b
    b.close()


class IsolatedClient(FlaskClient):
    """A test client whose requests run as in production: each in its own app
    context (own ``g``, own database session), even while the test holds one open
    to inspect the database. Responses are buffered inside that context."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


def _make_app(url, **extra):
    app = create_app(config_for(url, **extra))
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture
def app(backend, tmp_path):
    """A fresh app and database with the demo district, and an empty upload folder;
    may be written to."""
    url = backend.fresh()
    application = _make_app(url, UPLOAD_FOLDER=str(tmp_path / "uploads"))
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()
    backend.drop(url)


@pytest.fixture(scope="module")
def shared_app(backend, tmp_path_factory):
    """One app per module for tests that only read (logins aside)."""
    url = backend.fresh()
    application = _make_app(url, UPLOAD_FOLDER=str(tmp_path_factory.mktemp("uploads")))
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()
    backend.drop(url)


DEMO_ROLES = {
    "district_admin": "admin",
    "district_manager": "manager",
    "street_clerk": "chengdong",
    "community_worker": "worker",
    "sponsor": "sponsor",
}
ROLES = list(DEMO_ROLES)


def login_client(application, username: str):
    client = application.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, f"login as {username} failed"
    return client


@pytest.fixture
def login(app):
    """login("street_clerk") → a test client logged in as that role's demo user."""

    def _login(role_or_username: str):
        return login_client(app, DEMO_ROLES.get(role_or_username, role_or_username))

    return _login


@pytest.fixture
def shared_login(shared_app):
    def _login(role_or_username: str):
        return login_client(shared_app, DEMO_ROLES.get(role_or_username, role_or_username))

    return _login


ID_NUMBER_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
