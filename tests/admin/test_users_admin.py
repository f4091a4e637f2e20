"""系统设置 → 用户, as the district administrator uses it: create an account with a role,
a fitting area and an initial password; the new user changes it at the first login;
reset, deactivate, unlock; the same rules from the CLI."""

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.factories import PASSWORD, make_organisation, make_user

INITIAL = "Qing-nian-lu-2026"
CHOSEN = "Shuang-gang-jie-88"


class _FormReader(HTMLParser):
    """The values a browser would post from the page's main form, unchanged."""

    def __init__(self, form_id_attr=None):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select = None
        self._in_form = False
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if (
            tag == "form"
            and a.get("method", "").lower() == "post"
            and "admin-form" in (a.get("class") or "")
        ):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[a["name"]] = a.get("value") or "y"
            else:
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("name")
            self.values.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "form":
            self._in_form = False


def form_values(page: str) -> dict:
    reader = _FormReader()
    reader.feed(page)
    return reader.values


def errors_beside(page: str, field: str) -> str:
    """The error text Flask-Admin shows under ``field``."""
    found = re.search(
        rf'id="{field}"[^>]*>.*?<div class="invalid-feedback">(.*?)</div>', page, re.S
    )
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip() if found else ""


def new_user_data(**overrides) -> dict:
    data = {
        "username": "newclerk",
        "full_name": "新来的职员",
        "role": "street_clerk",
        "area": "__None",
        "organisation": "__None",
        "locale": "__None",
        "password": INITIAL,
    }
    data.update(overrides)
    return data


def by_username(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


# ------------------------------------------------------------------ the yes
def test_admin_creates_a_clerk_who_logs_in_changes_the_password_and_reaches_the_panel(
    app, world, login
):
    admin = login(world.admin)
    page = admin.get("/admin/user/new/")
    assert page.status_code == 200
    response = admin.post("/admin/user/new/", data=new_user_data(area=str(world.street.id)))
    assert response.status_code == 302, errors_beside(response.text, "password")
    clerk = by_username("newclerk")
    assert clerk.role == "street_clerk" and clerk.area_id == world.street.id
    assert clerk.must_change_password and clerk.is_active
    assert clerk.password_hash and INITIAL not in clerk.password_hash

    client = app.test_client()
    response = client.post("/login", data={"username": "newclerk", "password": INITIAL})
    assert response.status_code == 302 and "/account/password" in response.headers["Location"]
    # every page sends them to choose a password first
    blocked = client.get("/admin/household/")
    assert blocked.status_code == 302 and "/account/password" in blocked.headers["Location"]
    page = client.get("/account/password")
    assert "您的密码由管理员设置" in page.text
    response = client.post(
        blocked.headers["Location"],
        data={"current_password": INITIAL, "new_password": CHOSEN, "confirm": CHOSEN},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/household/"
    assert client.get("/admin/household/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert not by_username("newclerk").must_change_password
    # the initial password is gone
    again = app.test_client()
    assert (
        again.post("/login", data={"username": "newclerk", "password": INITIAL}).status_code == 200
    )
    assert (
        again.post("/login", data={"username": "newclerk", "password": CHOSEN}).status_code == 302
    )


def test_a_sponsor_account_belongs_to_a_sponsor_organisation(app, world, login):
    enterprise = make_organisation("enterprise", name="合肥爱心企业")
    hospital = make_organisation("hospital", name="瑶海区医院")
    admin = login(world.admin)
    page = admin.get("/admin/user/new/").text
    organisations = re.search(r'<select[^>]*id="organisation".*?</select>', page, re.S).group(0)
    assert "合肥爱心企业" in organisations and "瑶海区医院" not in organisations
    response = admin.post(
        "/admin/user/new/",
        data=new_user_data(username="aixin", role="sponsor", organisation=str(enterprise.id)),
    )
    assert response.status_code == 302
    sponsor = by_username("aixin")
    assert sponsor.organisation_id == enterprise.id and sponsor.area is None
    # a hospital's id posted by hand is not a choice
    response = admin.post(
        "/admin/user/new/",
        data=new_user_data(username="yiyuan", role="sponsor", organisation=str(hospital.id)),
    )
    assert response.status_code == 200 and by_username("yiyuan") is None


# --------------------------------------------------------------- the no-s
def test_a_new_account_has_no_role_until_the_admin_chooses_one(app, world, login):
    admin = login(world.admin)
    page = admin.get("/admin/user/new/").text
    role_select = re.search(r'<select[^>]*id="role".*?</select>', page, re.S).group(0)
    first = re.search(r"<option([^>]*)>([^<]*)</option>", role_select)
    assert 'value="__None"' in first.group(1) and "selected" in first.group(1)
    assert "请选择角色" in first.group(2)
    response = admin.post(
        "/admin/user/new/", data=new_user_data(role="__None", area=str(world.district.id))
    )
    assert response.status_code == 200
    assert "请选择角色" in errors_beside(response.text, "role")
    assert by_username("newclerk") is None


@pytest.mark.parametrize(
    ("role", "area", "organisation", "field", "message"),
    [
        ("community_worker", "street", None, "area", "社区工作者的区域须选择一个社区"),
        ("street_clerk", None, None, "area", "街道工作人员的区域须选择一个街道"),
        ("street_clerk", "community", None, "area", "街道工作人员的区域须选择一个街道"),
        ("district_admin", "street", None, "area", "区级角色的区域须选择本区"),
        ("district_manager", "community", None, "area", "区级角色的区域须选择本区"),
        ("sponsor", "street", "enterprise", "area", "资助方账户不属于任何区域"),
        ("sponsor", None, None, "organisation", "企业或社会组织"),
        ("street_clerk", "street", "enterprise", "organisation", "只有资助方账号"),
    ],
)
def test_role_and_area_cannot_disagree(app, world, login, role, area, organisation, field, message):
    areas = {"street": world.street, "community": world.community, None: None}
    org = make_organisation(organisation) if organisation else None
    admin = login(world.admin)
    data = new_user_data(
        role=role,
        area=str(areas[area].id) if areas[area] else "__None",
        organisation=str(org.id) if org else "__None",
    )
    response = admin.post("/admin/user/new/", data=data)
    assert response.status_code == 200
    assert message in errors_beside(response.text, field), errors_beside(response.text, field)
    assert "操作出错" not in response.text
    assert by_username("newclerk") is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "必填"),
        ("short-pw", "至少 10 个字符"),
        ("qwertyuiop", "过于常见"),
        ("Password2024!", "过于常见"),
        ("newclerk-2026!", "不得包含用户名"),
        ("aaaaaaaaaaaa", "过于简单"),
    ],
)
def test_the_initial_password_follows_the_policy(app, world, login, password, message):
    admin = login(world.admin)
    response = admin.post(
        "/admin/user/new/", data=new_user_data(area=str(world.street.id), password=password)
    )
    assert response.status_code == 200
    text = errors_beside(response.text, "password")
    assert message in text or (message == "必填" and text), text
    assert by_username("newclerk") is None


@pytest.mark.parametrize(
    ("username", "message"), [("a", "3 至 40 个"), ("有中文", "3 至 40 个"), ("taken", "已被使用")]
)
def test_a_username_is_checked_beside_its_field(app, world, login, username, message):
    make_user("street_clerk", area=world.street, username="taken")
    admin = login(world.admin)
    response = admin.post(
        "/admin/user/new/", data=new_user_data(username=username, area=str(world.street.id))
    )
    assert response.status_code == 200
    assert message in errors_beside(response.text, "username")


# ------------------------------------------------------------------- editing
@pytest.mark.parametrize("role", ["district_admin", "street_clerk", "community_worker", "sponsor"])
def test_saving_an_account_unchanged_changes_nothing(app, world, login, role):
    user = world.user(role)
    db.session.commit()
    their_session = login(user)
    before = {
        c: getattr(user, c)
        for c in ("username", "full_name", "role", "area_id", "organisation_id", "is_active")
    }
    version, password_hash = user.auth_version, user.password_hash
    admin = login(world.admin) if role != "district_admin" else their_session
    page = admin.get(f"/admin/user/edit/?id={user.id}")
    assert page.status_code == 200
    data = form_values(page.text)
    assert data["new_password"] == "" and data["username"] == user.username
    response = admin.post(f"/admin/user/edit/?id={user.id}", data=data)
    assert response.status_code == 302, errors_beside(response.text, "area")
    db.session.expire_all()
    assert {c: getattr(user, c) for c in before} == before
    assert user.auth_version == version and user.password_hash == password_hash
    assert their_session.get("/admin/").status_code == 200, "their session goes on"


def test_admin_resets_a_password_and_the_user_must_change_it(app, world, login):
    worker = world.worker
    their_session = login(worker)
    admin = login(world.admin)
    data = form_values(admin.get(f"/admin/user/edit/?id={worker.id}").text)
    data["new_password"] = INITIAL
    assert admin.post(f"/admin/user/edit/?id={worker.id}", data=data).status_code == 302
    assert by_username(worker.username).must_change_password
    assert their_session.get("/admin/").status_code == 302, "the old session ended"
    client = app.test_client()
    assert (
        client.post("/login", data={"username": worker.username, "password": PASSWORD}).status_code
        == 200
    )
    response = client.post("/login", data={"username": worker.username, "password": INITIAL})
    assert "/account/password" in response.headers["Location"]


def test_a_reset_password_also_follows_the_policy(app, world, login):
    admin = login(world.admin)
    data = form_values(admin.get(f"/admin/user/edit/?id={world.worker.id}").text)
    data["new_password"] = "1234567890"
    response = admin.post(f"/admin/user/edit/?id={world.worker.id}", data=data)
    assert response.status_code == 200
    assert "过于常见" in errors_beside(response.text, "new_password")


def test_a_role_change_through_the_form_must_fit_the_area_too(app, world, login):
    admin = login(world.admin)
    data = form_values(admin.get(f"/admin/user/edit/?id={world.worker.id}").text)
    data["role"] = "street_clerk"
    response = admin.post(f"/admin/user/edit/?id={world.worker.id}", data=data)
    assert "街道工作人员的区域须选择一个街道" in errors_beside(response.text, "area")
    data["area"] = str(world.street.id)
    their_session = login(world.worker)
    assert admin.post(f"/admin/user/edit/?id={world.worker.id}", data=data).status_code == 302
    assert by_username(world.worker.username).role == "street_clerk"
    assert their_session.get("/admin/").status_code == 302, "a new role: log in again"


def test_the_admin_cannot_lock_themselves_out(app, world, login):
    admin = login(world.admin)
    data = form_values(admin.get(f"/admin/user/edit/?id={world.admin.id}").text)
    data.pop("is_active")
    response = admin.post(f"/admin/user/edit/?id={world.admin.id}", data=data)
    assert "不能停用自己的账户" in errors_beside(response.text, "is_active")
    data = form_values(admin.get(f"/admin/user/edit/?id={world.admin.id}").text)
    data["role"] = "district_manager"
    response = admin.post(f"/admin/user/edit/?id={world.admin.id}", data=data)
    assert "不能更改自己账户的角色" in errors_beside(response.text, "role")
    assert by_username(world.admin.username).role == "district_admin"


# ------------------------------------------------------------------- actions
def test_deactivate_keeps_the_account_and_ends_its_sessions(app, world, login):
    their_session = login(world.clerk)
    admin = login(world.admin)
    response = admin.post(
        "/admin/user/action/", data={"action": "deactivate", "rowid": str(world.clerk.id)}
    )
    assert response.status_code == 302
    clerk = by_username(world.clerk.username)
    assert clerk is not None and not clerk.is_active
    assert their_session.get("/admin/").status_code == 302
    client = app.test_client()
    assert (
        client.post("/login", data={"username": clerk.username, "password": PASSWORD}).status_code
        == 200
    )
    admin.post("/admin/user/action/", data={"action": "activate", "rowid": str(clerk.id)})
    assert by_username(clerk.username).is_active
    assert (
        client.post("/login", data={"username": clerk.username, "password": PASSWORD}).status_code
        == 302
    )


def test_accounts_are_never_deleted(app, world, login):
    admin = login(world.admin)
    assert admin.post("/admin/user/delete/", data={"id": str(world.clerk.id)}).status_code in (
        403,
        404,
    )
    response = admin.post(
        "/admin/user/action/", data={"action": "delete", "rowid": str(world.clerk.id)}
    )
    assert response.status_code in (302, 403)
    assert by_username(world.clerk.username) is not None


def test_the_admin_cannot_deactivate_themselves_from_the_list(app, world, login):
    admin = login(world.admin)
    admin.post("/admin/user/action/", data={"action": "deactivate", "rowid": str(world.admin.id)})
    assert by_username(world.admin.username).is_active


@pytest.mark.parametrize(
    "role", ["district_manager", "street_clerk", "community_worker", "sponsor"]
)
def test_only_the_district_admin_manages_accounts(app, world, login, role):
    client = login(world.user(role))
    assert client.get("/admin/user/").status_code == 403
    assert client.get("/admin/user/new/").status_code == 403
    response = client.post(
        "/admin/user/action/", data={"action": "unlock", "rowid": str(world.clerk.id)}
    )
    assert response.status_code == 403


# ---------------------------------------------------------------- the CLI
def test_the_cli_hits_the_same_rules(app, world):
    db.session.commit()
    runner = app.test_cli_runner()
    base = ["create-user", "--username", "cliuser", "--full-name", "命令行"]
    result = runner.invoke(
        args=base
        + ["--role", "community_worker", "--area", world.street.name, "--password", INITIAL]
    )
    assert result.exit_code != 0 and "社区工作者的区域须选择一个社区" in result.output
    result = runner.invoke(
        args=base
        + ["--role", "street_clerk", "--area", world.street.name, "--password", "qwertyuiop"]
    )
    assert result.exit_code != 0 and "过于常见" in result.output
    result = runner.invoke(
        args=base + ["--role", "street_clerk", "--area", world.street.name, "--password", INITIAL]
    )
    assert result.exit_code == 0, result.output
    assert by_username("cliuser").area_id == world.street.id


def test_cli_reset_password_and_unlock(app, world):
    clerk = world.clerk
    clerk.record_failed_login(1)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["unlock-user", "--username", clerk.username])
    assert result.exit_code == 0 and not by_username(clerk.username).is_locked
    result = runner.invoke(
        args=["reset-password", "--username", clerk.username, "--password", "short"]
    )
    assert result.exit_code != 0
    result = runner.invoke(
        args=["reset-password", "--username", clerk.username, "--password", INITIAL]
    )
    assert result.exit_code == 0
    user = by_username(clerk.username)
    assert user.must_change_password and user.check_password(INITIAL)
    result = runner.invoke(args=["deactivate-user", "--username", clerk.username])
    assert result.exit_code == 0 and not by_username(clerk.username).is_active
