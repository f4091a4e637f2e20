"""The panel around the records: login, landing page, street switcher, language,
errors, CSRF, health check, query counts."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Area, Household, User
from tests.conftest import ROLES, login_client
from tests.factories import count_queries

# reads the demo district's rows; to be converted to tests/factories.py
pytestmark = pytest.mark.demo


def test_healthz_answers_without_login(shared_app):
    response = shared_app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"


def test_wrong_password_and_inactive_users_cannot_log_in(app):
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": "nope"})
    assert response.status_code == 200 and "错误" in response.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.username == "worker"))
    user.is_active = False
    db.session.commit()
    response = client.post("/login", data={"username": "worker", "password": "yijia-demo-2019"})
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_deactivated_user_is_logged_out_on_next_request(app, login):
    client = login("community_worker")
    assert client.get("/admin/household/").status_code == 200
    user = db.session.scalar(select(User).where(User.username == "worker"))
    user.is_active = False
    db.session.commit()
    assert client.get("/admin/household/").status_code == 302


def test_login_never_redirects_off_site(app):
    client = app.test_client()
    response = client.post(
        "/login?next=//evil.example/x", data={"username": "admin", "password": "yijia-demo-2019"}
    )
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("role", ROLES)
def test_landing_page_shows_scope_and_counts_in_chinese(shared_app, shared_login, role):
    page = shared_login(role).get("/admin/").get_data(as_text=True)
    assert "欢迎" in page
    assert 'id="count-projects"' in page
    assert ('id="count-households"' in page) is (role != "sponsor")


def test_landing_counts_follow_the_scope(shared_app, shared_login):
    def households(role):
        page = shared_login(role).get("/admin/").get_data(as_text=True)
        return int(re.search(r'id="count-households">(\d+)<', page).group(1))

    chengdong = db.session.scalar(select(Area).where(Area.name == "城东街道"))
    heping = db.session.scalar(select(Area).where(Area.name == "和平社区"))
    total = db.session.query(Household).count()
    assert households("district_admin") == total
    assert (
        households("street_clerk")
        == db.session.query(Household).filter_by(street_id=chengdong.id).count()
    )
    assert (
        households("community_worker")
        == db.session.query(Household).filter_by(community_id=heping.id).count()
    )


def test_street_switcher_narrows_every_list_for_district_users(shared_app, shared_login):
    client = shared_login("district_manager")
    street = db.session.scalar(select(Area).where(Area.name == "明光路街道"))
    response = client.post("/admin/street/", data={"street_id": street.id, "next": "/admin/"})
    assert response.status_code == 302
    page = client.get("/admin/household/?page_size=100").get_data(as_text=True)
    ids = {int(i) for i in re.findall(r"details/\?id=(\d+)", page)}
    expected = set(db.session.scalars(select(Household.id).where(Household.street_id == street.id)))
    assert ids == expected
    client.post("/admin/street/", data={"street_id": "", "next": "/admin/"})
    page = client.get("/admin/household/?page_size=100").get_data(as_text=True)
    assert len(set(re.findall(r"details/\?id=(\d+)", page))) > len(expected)


@pytest.mark.parametrize("role", ["street_clerk", "community_worker", "sponsor"])
def test_street_switcher_is_for_district_users_only(shared_app, shared_login, role):
    street = db.session.scalar(select(Area).where(Area.name == "明光路街道"))
    response = shared_login(role).post("/admin/street/", data={"street_id": street.id})
    assert response.status_code == 403


def test_language_switch_is_remembered_on_the_account(app, login):
    client = login("street_clerk")
    client.post("/language", data={"locale": "en", "next": "/admin/"})
    assert "Welcome" in client.get("/admin/").get_data(as_text=True)
    fresh = login_client(app, "chengdong")
    assert "Welcome" in fresh.get("/admin/").get_data(as_text=True)
    fresh.post("/language", data={"locale": "zh_Hans_CN"})
    assert "欢迎" in fresh.get("/admin/").get_data(as_text=True)


def test_csrf_is_required_on_every_post(backend):
    from tests.conftest import _make_app

    url = backend.fresh_demo()
    app = _make_app(url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert (
        client.post("/login", data={"username": "admin", "password": "yijia-demo-2019"}).status_code
        == 400
    )
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": "admin", "password": "yijia-demo-2019", "csrf_token": token}
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


def test_errors_never_show_sql_or_tracebacks(app, login):
    client = login("district_admin")
    existing = db.session.scalars(select(Area).where(Area.level == "street")).first()
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
def test_list_queries_do_not_grow_with_page_size(shared_app, shared_login, endpoint):
    client = shared_login("district_admin")
    small = _statements(client, f"/admin/{endpoint}/?page_size=5")
    large = _statements(client, f"/admin/{endpoint}/?page_size=100")
    assert large == small, f"{endpoint}: {small} queries for 5 rows, {large} for 100"


def test_sponsor_list_queries_do_not_grow(shared_app, shared_login):
    client = shared_login("sponsor")
    small = _statements(client, "/admin/sponsor/projects/?page_size=5")
    large = _statements(client, "/admin/sponsor/projects/?page_size=100")
    assert large == small


@pytest.mark.parametrize("endpoint", ["household", "ledger"])
@pytest.mark.parametrize("export_type", ["csv", "xlsx"])
def test_an_export_gives_its_database_connection_back(
    shared_app, shared_login, export_type, endpoint
):
    """Streamed rows hold a connection; it must return to the pool when the file is
    done, or a burst of exports drains the pool and every page waits."""
    client = shared_login("district_admin")
    before = db.engine.pool.checkedout()
    for _ in range(3):
        assert client.get(f"/admin/{endpoint}/export/{export_type}/").status_code == 200
    assert db.engine.pool.checkedout() == before
