"""Fixtures: an app per backend, on an empty schema or on the demo district, and
clients logged in as any user.

The suite always runs on SQLite. When TEST_DATABASE_URL points at a reachable
PostgreSQL server it runs on PostgreSQL too; otherwise those cases are skipped with
the reason printed in the summary.

Tests build the rows they need with ``tests/factories.py`` on an empty schema. Only
the tests of the demo district itself are marked ``@pytest.mark.demo`` (on the test or
as the module's ``pytestmark``); their ``app`` holds a copy of the demo, and their
``login`` also takes a demo role or username.

Speed: each backend builds a template once (an SQLite file, a PostgreSQL template
database): the empty schema at start, the demo only when a demo test first asks for
it. Each worker builds one app per backend (``TestApp``) and every ``app`` test reuses
it on a fresh database: on SQLite a new copy of the template, on PostgreSQL the
worker's database emptied (``Backend.reset``); demo tests get a copy of the demo.
"""

import contextvars
import os
import shutil
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.admin import chrome as admin_chrome
from app.demo import DEMO_PASSWORD, seed_demo
from app.extensions import db, limiter
from app.models import User, area_tree
from config import TestConfig
from tests.factories import PASSWORD, make_world

DEMO_HOUSEHOLDS = 60
PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "demo: the test reads the demo district (tests of the demo itself)"
    )


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


def build_schema(url: str, upload_folder, *, with_demo: bool) -> None:
    # demo evidence files go to a temporary folder, never to instance/uploads
    app = create_app(config_for(url, UPLOAD_FOLDER=str(upload_folder)))
    with app.app_context():
        db.create_all()
        if with_demo:
            seed_demo(DEMO_HOUSEHOLDS)
        db.session.remove()
        db.engine.dispose()


class Backend:
    """Makes databases on one backend: empty, with the schema, or with the demo."""

    def __init__(self, name: str, tmp_path_factory):
        self.name = name
        self.tmp = tmp_path_factory.mktemp(f"db-{name}")
        self.created: list[str] = []
        if name == "postgresql":
            self.engine, self.base_url = _pg_admin_engine()
        self._work_engines = {}
        self._reset_statements = None
        self.schema_template = self._template("schema", with_demo=False)
        self.demo_template = None

    def _template(self, kind: str, *, with_demo: bool):
        if self.name == "sqlite":
            path = self.tmp / f"{kind}.sqlite3"
            build_schema(f"sqlite:///{path}", self.tmp / "uploads", with_demo=with_demo)
            return path
        name = f"yijia_tpl_{kind}_{uuid.uuid4().hex[:8]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        build_schema(self._url(name), self.tmp / "uploads", with_demo=with_demo)
        return name

    def _url(self, name: str) -> str:
        return self.base_url.set(database=name).render_as_string(hide_password=False)

    def _copy(self, template) -> str:
        if self.name == "sqlite":
            path = self.tmp / f"{uuid.uuid4().hex}.sqlite3"
            shutil.copy(template, path)
            return f"sqlite:///{path}"
        name = f"yijia_t_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self.created.append(name)
        return self._url(name)

    def fresh(self) -> str:
        """URL of a new database holding the schema and no rows."""
        return self._copy(self.schema_template)

    def fresh_demo(self) -> str:
        """URL of a new database holding a copy of the demo district."""
        if self.demo_template is None:
            self.demo_template = self._template("demo", with_demo=True)
        return self._copy(self.demo_template)

    def fresh_empty(self) -> str:
        """URL of a new, empty database (no tables: for the migrations)."""
        if self.name == "sqlite":
            return f"sqlite:///{self.tmp / uuid.uuid4().hex}.sqlite3"
        name = f"yijia_e_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self._url(name)

    def reset(self, url: str) -> str:
        """A database like ``fresh()`` again, for a URL a test has written to.

        SQLite: a new copy of the template (its triggers cannot be switched off, so the
        audit rows a test wrote cannot be deleted). PostgreSQL: the same database, every
        table emptied and every sequence restarted, with triggers off for the session
        (``session_replication_role``; the suite's user is a superuser) — dropping a
        database costs most of a second, emptying forty small tables a few ms."""
        if self.name == "sqlite":
            return self._copy(self.schema_template)
        engine = self._work_engine(url)
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(self._reset_sql(conn)))
        return url

    def _work_engine(self, url):
        engine = self._work_engines.get(url)
        if engine is None:
            engine = self._work_engines[url] = create_engine(
                make_url(url).set(drivername="postgresql+psycopg")
            )
        return engine

    def _reset_sql(self, conn) -> str:
        if self._reset_statements is None:
            tables = conn.execute(
                text("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            sequences = conn.execute(
                text(
                    "SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'"
                )
            ).scalars()
            self._reset_statements = "".join(
                [f"DELETE FROM {t};" for t in tables]
                + [f"ALTER SEQUENCE {s} RESTART;" for s in sequences]
                # the area tree's version row, as create_all leaves it
                + ["INSERT INTO area_tree_version (id, value) VALUES (1, 1);"]
            )
        return self._reset_statements

    def drop(self, url: str) -> None:
        if self.name == "sqlite":
            path = make_url(url).database
            if path and os.path.exists(path):
                os.remove(path)
            return
        name = make_url(url).database
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for engine in self._work_engines.values():
            engine.dispose()
        if self.name == "postgresql":
            with self.engine.connect() as conn:
                for name in self.created:
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


def _is_demo(request) -> bool:
    return request.node.get_closest_marker("demo") is not None


def _fresh_url(backend, request) -> str:
    return backend.fresh_demo() if _is_demo(request) else backend.fresh()


def use_database(application, url: str) -> None:
    """Point ``application`` (its default bind) at the database at ``url``.

    Building an app costs about a third of a second (Flask-Admin compiles some 1,400 URL
    rules), which was most of the suite's time; so each worker builds one app per
    backend and each test gets a fresh *database* instead. This uses Flask-SQLAlchemy's
    own engine-making steps (``init_app`` cannot be called twice on a used app)."""
    engines = db._app_engines[application]
    old = engines.get(None)
    if old is not None:
        old.dispose()
    options = dict(application.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.update(url=url, echo=False, echo_pool=False)
    db._apply_driver_defaults(options, application)
    engines[None] = db._make_engine(None, options, application)
    application.config["SQLALCHEMY_DATABASE_URI"] = url


class TestApp:
    """The one app a worker builds per backend, reused by every test of that backend:
    before each test it gets a fresh database, its pristine config and empty rate-limit
    counters, so no test sees another's rows, settings or throttling."""

    def __init__(self, backend: "Backend"):
        self.backend = backend
        self.url = backend.fresh()
        self.app = _make_app(self.url)
        self.pristine = dict(self.app.config)
        self.on_work_database = True
        self.dirty = False

    def prepare(self, request, upload_folder) -> Flask:
        app = self.app
        app.config.clear()
        app.config.update(self.pristine, SQLALCHEMY_DATABASE_URI=self.url)
        if _is_demo(request):
            use_database(app, self.backend.fresh_demo())
            self.on_work_database = False
        else:
            if not self.on_work_database:
                use_database(app, self.url)
                self.on_work_database = True
            elif self.dirty:
                used, self.url = self.url, self.backend.reset(self.url)
                if used != self.url:  # SQLite: a new file; the used one goes
                    use_database(app, self.url)
                    self.backend.drop(used)
        app.config.update(UPLOAD_FOLDER=str(upload_folder), IS_DEMO=_is_demo(request))
        limiter.reset()
        # every test's database starts again at version 1 of its own area tree, and
        # the menu is drawn anew for its users
        area_tree.forget()
        admin_chrome.forget()
        self.dirty = True
        return app

    def finish(self) -> None:
        db.session.remove()
        if not self.on_work_database:
            demo_url = self.app.config["SQLALCHEMY_DATABASE_URI"]
            use_database(self.app, self.url)
            self.on_work_database = True
            self.backend.drop(demo_url)
        else:
            db.engine.dispose()


@pytest.fixture(scope="session")
def _test_apps():
    apps: dict[str, TestApp] = {}
    yield apps
    for made in apps.values():
        with made.app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(backend, tmp_path, request, _test_apps):
    """An app on a fresh database with the schema and no rows (the demo district for
    ``@pytest.mark.demo`` tests), and an empty upload folder; may be written to."""
    made = _test_apps.get(backend.name)
    if made is None:
        made = _test_apps[backend.name] = TestApp(backend)
    application = made.prepare(request, tmp_path / "uploads")
    with application.app_context():
        try:
            yield application
        finally:
            made.finish()


@pytest.fixture(scope="module")
def shared_app(backend, tmp_path_factory, request):
    """One app per module, for tests that only read (logins aside): build its rows
    once in a module-scoped fixture (``shared_world``)."""
    url = _fresh_url(backend, request)
    application = _make_app(url, UPLOAD_FOLDER=str(tmp_path_factory.mktemp("uploads")))
    application.config["IS_DEMO"] = _is_demo(request)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()
    backend.drop(url)


#: the demo district's user of each role
DEMO_ROLES = {
    "district_admin": "admin",
    "district_manager": "manager",
    "street_clerk": "chengdong",
    "community_worker": "worker",
    "sponsor": "sponsor",
}
ROLES = list(DEMO_ROLES)


def login_client(application, who: User | str):
    """A test client logged in through the login form as ``who``: a user made by the
    factories (password ``PASSWORD``), or in a demo database a demo username or role.

    Commits the test's session first: the login request runs in its own session and
    must see the rows the test built."""
    db.session.commit()
    if isinstance(who, User):
        username, password = who.username, PASSWORD
    elif application.config.get("IS_DEMO"):
        username, password = DEMO_ROLES.get(who, who), DEMO_PASSWORD
    else:
        raise TypeError(f"login({who!r}): pass a User (demo names work in demo tests only)")
    client = application.test_client()
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, f"login as {username} failed"
    return client


@pytest.fixture
def login(app):
    """login(user) → a test client logged in as that user (commits first)."""
    return lambda who: login_client(app, who)


@pytest.fixture
def shared_login(shared_app):
    return lambda who: login_client(shared_app, who)


@pytest.fixture
def world(app):
    """Two streets, three communities and a user of every role (``factories.World``),
    committed."""
    made = make_world()
    db.session.commit()
    return made


@pytest.fixture(scope="module")
def shared_world(shared_app):
    """``world`` once per module, for the module's read-only tests."""
    made = make_world()
    db.session.commit()
    return made
