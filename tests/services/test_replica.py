"""``DATABASE_REPLICA_URL``: the heavy read-only pages read from a streaming replica,
and never write to it. Tested by pointing the replica at the same database through a
role that may only SELECT: any write sent there fails the request (and the test)."""

import pytest
from flask import url_for
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from app import create_app
from app.admin.base import ScopedModelView
from app.extensions import REPLICA, db
from tests.conftest import IsolatedClient, config_for, login_client
from tests.factories import make_household, make_member, make_need

READER = "yijia_replica_reader"


def _read_only_role(url: str) -> str:
    """A URL to the same database as a role that may only read it."""
    owner = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(
            text(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}')"
                f" THEN CREATE ROLE {READER} LOGIN; END IF; END $$"
            )
        )
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {READER}"))
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}"))
    owner.dispose()
    return make_url(url).set(username=READER).render_as_string(hide_password=False)


@pytest.fixture
def replica_app(app, backend):
    if backend.name != "postgresql":
        pytest.skip("a streaming replica is PostgreSQL's")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    made = create_app(
        config_for(
            url,
            DATABASE_REPLICA_URL=_read_only_role(url),
            UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"],
        )
    )
    made.test_client_class = IsolatedClient
    yield made
    with made.app_context():
        db.session.remove()
        db.engine.dispose()
    made.extensions[REPLICA].dispose()


def _statements_on(application, key):
    seen: list[str] = []
    engine = application.extensions[key]
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


@pytest.mark.postgresql
def test_the_managers_pages_and_exports_read_from_the_replica_and_never_write(world, replica_app):
    household = make_household(world.community, head_name="韩秀英")
    make_member(household)
    make_need(household)
    db.session.commit()
    on_replica = _statements_on(replica_app, REPLICA)
    client = login_client(replica_app, world.manager)
    with replica_app.test_request_context():
        views = [v for v in replica_app.extensions["admin"][0]._views]
        lists = [
            (
                url_for(f"{v.endpoint}.index_view"),
                url_for(f"{v.endpoint}.export", export_type="csv"),
            )
            for v in views
            if isinstance(v, ScopedModelView)
        ]
        dashboard = url_for("dashboard.index")
    opened = 0
    for list_url, export_url in lists:
        if client.get(list_url).status_code == 200:
            opened += 1
            assert client.get(export_url).status_code in (200, 302, 404)
    assert client.get("/admin/").status_code == 200
    assert client.get(dashboard).status_code == 200
    assert opened >= 10
    assert any("FROM households" in s for s in on_replica)
    assert not any(
        s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in on_replica
    )


@pytest.mark.postgresql
def test_a_clerks_pages_read_the_primary_and_exports_the_replica(world, replica_app):
    make_household(world.community)
    db.session.commit()
    on_replica = _statements_on(replica_app, REPLICA)
    client = login_client(replica_app, world.clerk)
    assert client.get("/admin/household/").status_code == 200
    assert on_replica == []
    response = client.get("/admin/household/export/csv/")
    assert response.status_code == 200 and response.get_data()
    assert any("FROM households" in s for s in on_replica)
