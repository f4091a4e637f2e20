"""The panel around the records: login, landing page, street switcher, language,
errors, CSRF, health check, query counts."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Household
from tests.conftest import ROLES, login_client
from tests.factories import (
    PASSWORD,
    count_queries,
    make_fund,
    make_household,
    make_member,
    make_need,
    make_organisation,
    make_project,
    make_resource,
    make_user,
)


@pytest.fixture(scope="module")
def shared_world(shared_world):
    """The module's world with eight households (three in the worker's community,
    three in the neighbour community, two in the far street), each with a member and
    a need; eight resources, projects (open, so a sponsor sees them), organisations
    and more users: every list has more rows than a page of five; and a fund with a
    few ledger entries."""
    w = shared_world
    places = [w.community] * 3 + [w.neighbour] * 3 + [w.far_community] * 2
    for place in places:
        household = make_household(place)
        make_member(household)
        make_need(household)
        make_resource(community=place)
        make_project(place)
        make_organisation("social_org")
        make_user("community_worker", area=place)
    db.session.commit()
    make_fund(w)
    return w


def test_healthz_answers_without_login(shared_app):
    response = shared_app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"


def test_wrong_password_and_inactive_users_cannot_log_in(world, app):
    db.session.commit()
    client = app.test_client()
    response = client.post("/login", data={"username": world.admin.username, "password": "nope"})
    assert response.status_code == 200 and "错误" in response.get_data(as_text=True)
    world.worker.is_active = False
    db.session.commit()
    response = client.post("/login", data={"username": world.worker.username, "password": PASSWORD})
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_deactivated_user_is_logged_out_on_next_request(world, login):
    client = login(world.worker)
    assert client.get("/admin/household/").status_code == 200
    world.worker.is_active = False
    db.session.commit()
    assert client.get("/admin/household/").status_code == 302


def test_login_never_redirects_off_site(world, app):
    db.session.commit()
    client = app.test_client()
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": world.admin.username, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("role", ROLES)
def test_landing_page_shows_scope_and_counts_in_chinese(shared_world, shared_login, role):
    page = shared_login(shared_world.user(role)).get("/admin/").get_data(as_text=True)
    assert "欢迎" in page
    assert 'id="count-projects"' in page
    assert ('id="count-households"' in page) is (role != "sponsor")


def test_landing_counts_follow_the_scope(shared_world, shared_login):
    def households(role):
        page = shared_login(shared_world.user(role)).get("/admin/").get_data(as_text=True)
        return int(re.search(r'id="count-households">(\d+)<', page).group(1))

    assert households("district_admin") == 8
    assert households("street_clerk") == 6
    assert households("community_worker") == 3


def test_street_switcher_narrows_every_list_for_district_users(shared_world, shared_login):
    client = shared_login(shared_world.manager)
    street = shared_world.far_street
    response = client.post("/admin/street/", data={"street_id": street.id, "next": "/admin/"})
    assert response.status_code == 302
    page = client.get("/admin/household/?page_size=100").get_data(as_text=True)
    ids = {int(i) for i in re.findall(r"details/\?id=(\d+)", page)}
    expected = set(db.session.scalars(select(Household.id).where(Household.street_id == street.id)))
    assert ids == expected and len(expected) == 2
    client.post("/admin/street/", data={"street_id": "", "next": "/admin/"})
    page = client.get("/admin/household/?page_size=100").get_data(as_text=True)
    assert len(set(re.findall(r"details/\?id=(\d+)", page))) == 8


@pytest.mark.parametrize("role", ["street_clerk", "community_worker", "sponsor"])
def test_street_switcher_is_for_district_users_only(shared_world, shared_login, role):
    street = shared_world.far_street
    response = shared_login(shared_world.user(role)).post(
        "/admin/street/", data={"street_id": street.id}
    )
    assert response.status_code == 403


def test_language_switch_is_remembered_on_the_account(world, app, login):
    client = login(world.clerk)
    client.post("/language", data={"locale": "en", "next": "/admin/"})
    assert "Welcome" in client.get("/admin/").get_data(as_text=True)
    fresh = login_client(app, world.clerk)
    assert "Welcome" in fresh.get("/admin/").get_data(as_text=True)
    fresh.post("/language", data={"locale": "zh_Hans_CN"})
    assert "欢迎" in fresh.get("/admin/").get_data(as_text=True)


def test_csrf_is_required_on_every_post(backend):
    from tests.conftest import _make_app

    url = backend.fresh()
    app = _make_app(url, WTF_CSRF_ENABLED=True)
    with app.app_context():
        admin = make_user("district_admin").username
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    assert client.post("/login", data={"username": admin, "password": PASSWORD}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": admin, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    for path in (
        "/admin/household/delete/",
        "/admin/need/action/",
        "/admin/street/",
        "/admin/need/ajax/update/",
        "/logout",
    ):
        assert client.post(path, data={"id": 1}).status_code == 400, path
    with app.app_context():
        db.engine.dispose()
    backend.drop(url)


def test_errors_never_show_sql_or_tracebacks(world, login):
    client = login(world.admin)
    existing = world.street
    # duplicate (parent, name): the database refuses it
    response = client.post(
        "/admin/area/new/",
        data={"name": existing.name, "level": "street", "parent": existing.parent_id},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "INSERT" not in body and "Traceback" not in body and "UNIQUE" not in body
    assert "没有保存" in body or "未保存" in body or "冲突" in body


def _statements(client, path) -> int:
    with count_queries() as statements:
        assert client.get(path).status_code == 200
    return len(statements)


@pytest.mark.parametrize(
    "endpoint", ["household", "member", "need", "resource", "project", "organisation", "user"]
)
def test_list_queries_do_not_grow_with_page_size(shared_world, shared_login, endpoint):
    client = shared_login(shared_world.admin)
    client.get(f"/admin/{endpoint}/")  # the process reads the area tree once
    small = _statements(client, f"/admin/{endpoint}/?page_size=5")
    large = _statements(client, f"/admin/{endpoint}/?page_size=100")
    assert large == small, f"{endpoint}: {small} queries for 5 rows, {large} for 100"


def test_sponsor_list_queries_do_not_grow(shared_world, shared_login):
    client = shared_login(shared_world.sponsor)
    client.get("/admin/sponsor/projects/")  # the process reads the area tree once
    small = _statements(client, "/admin/sponsor/projects/?page_size=5")
    large = _statements(client, "/admin/sponsor/projects/?page_size=100")
    assert large == small


@pytest.mark.parametrize("endpoint", ["household", "ledger"])
@pytest.mark.parametrize("export_type", ["csv", "xlsx"])
def test_an_export_gives_its_database_connection_back(
    shared_world, shared_login, export_type, endpoint
):
    """Streamed rows hold a connection; it must return to the pool when the file is
    done, or a burst of exports drains the pool and every page waits."""
    client = shared_login(shared_world.admin)
    before = db.engine.pool.checkedout()
    for _ in range(3):
        assert client.get(f"/admin/{endpoint}/export/{export_type}/").status_code == 200
    assert db.engine.pool.checkedout() == before
