"""Guessing is stopped and sessions end: the login throttle, the same answer for an
unknown user and a wrong password, the lock, logout everywhere, cookies, the log
scrubber, the Content-Security-Policy and the throttle helper."""

import io
import logging
import re
import time

import pytest
from sqlalchemy import select

from app import throttle
from app.extensions import db
from app.models import User
from app.models.base import utcnow
from tests.factories import PASSWORD, make_user

REAL_PASSWORD = "Lan-se-de-hai-2026"


def _post_login(client, username, password, **extra):
    return client.post("/login", data={"username": username, "password": password, **extra})


def _alert(response) -> str:
    found = re.search(r'<div class="alert[^"]*" role="alert">(.*?)</div>', response.text, re.S)
    return found.group(1).strip() if found else ""


@pytest.fixture
def hashes(monkeypatch):
    """Counts password-hash checks (the real ones and the dummy one)."""
    import app.models.user as user_module

    calls = []
    real = user_module.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(user_module, "check_password_hash", counting)
    return calls


@pytest.fixture
def production_limits(app):
    """The throttle's limits of a deployment (the suite's config lifts them)."""
    from config import Config

    app.config["LOGIN_FAILURES_PER_IP"] = Config.LOGIN_FAILURES_PER_IP
    app.config["LOGIN_FAILURES_PER_ACCOUNT"] = Config.LOGIN_FAILURES_PER_ACCOUNT
    return app.config


# ------------------------------------------------------------- same answer
def test_unknown_user_and_wrong_password_get_the_same_answer_after_one_hash(app, world, hashes):
    client = app.test_client()
    db.session.commit()
    wrong = _post_login(client, world.clerk.username, "not-the-password")
    assert len(hashes) == 1
    unknown = _post_login(client, "nobody-of-that-name", "not-the-password")
    assert len(hashes) == 2
    assert wrong.status_code == unknown.status_code == 200
    assert _alert(wrong) == _alert(unknown) != ""
    assert "用户名或密码错误" in _alert(wrong)
    # the page differs only in the username typed back into the form (and the
    # time-stamped CSRF token of the language switch)
    strip = re.compile(r'name="(username|csrf_token)"[^>]*value="[^"]*"')
    assert strip.sub("", wrong.text) == strip.sub("", unknown.text)


def test_locked_and_deactivated_accounts_answer_like_a_wrong_password(app, world, hashes):
    locked = make_user("street_clerk", area=world.street, locked_at=utcnow())
    inactive = make_user("street_clerk", area=world.street, is_active=False)
    db.session.commit()
    client = app.test_client()
    answers = {
        _alert(_post_login(client, who.username, PASSWORD)) for who in (locked, inactive)
    } | {_alert(_post_login(client, world.clerk.username, "wrong-password"))}
    assert len(answers) == 1
    assert len(hashes) == 3
    assert client.get("/admin/").status_code == 302


def test_an_unknown_user_takes_as_long_as_a_wrong_password(app, world):
    """Wall time, with real (scrypt) hashes on both sides: the fastest of a few tries
    of each are within a factor of two (without the dummy hash they differ ~20x)."""
    user = make_user("street_clerk", area=world.street)
    user.set_password(REAL_PASSWORD)
    db.session.commit()
    client = app.test_client()
    _post_login(client, "warm-up", "x")  # first request: imports, template compile

    def fastest(username):
        times = []
        for _ in range(4):
            start = time.perf_counter()
            _post_login(client, username, "wrong-password")
            times.append(time.perf_counter() - start)
        return min(times)

    known, unknown = fastest(user.username), fastest("no-such-user-anywhere")
    assert 0.5 < unknown / known < 2, (unknown, known)


# ------------------------------------------------------------------- the lock
def test_eleven_wrong_passwords_lock_the_account_until_the_admin_unlocks_it(app, world, login):
    clerk = world.clerk
    client = app.test_client()
    for _ in range(11):
        assert _post_login(client, clerk.username, "wrong-password").status_code == 200
    db.session.expire_all()
    assert clerk.is_locked and clerk.failed_login_count == 11
    # the right password no longer opens it, and says nothing more
    response = _post_login(client, clerk.username, PASSWORD)
    assert response.status_code == 200 and "用户名或密码错误" in _alert(response)
    assert client.get("/admin/").status_code == 302

    admin = login(world.admin)
    listed = admin.get("/admin/user/").text
    assert "锁定时间" in listed
    response = admin.post("/admin/user/action/", data={"action": "unlock", "rowid": str(clerk.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert not clerk.is_locked and clerk.failed_login_count == 0
    assert _post_login(client, clerk.username, PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_successful_login_resets_the_count(app, world):
    client = app.test_client()
    for _ in range(9):
        _post_login(client, world.worker.username, "wrong-password")
    assert _post_login(client, world.worker.username, PASSWORD).status_code == 302
    db.session.expire_all()
    assert world.worker.failed_login_count == 0 and not world.worker.is_locked


# -------------------------------------------------------------- the throttle
def test_failures_per_username_are_throttled_even_for_the_right_password(
    app, world, hashes, production_limits
):
    production_limits["LOGIN_FAILURES_PER_ACCOUNT"] = "3 per minute"
    db.session.commit()
    client = app.test_client()
    for _ in range(3):
        assert _post_login(client, world.clerk.username, "wrong-password").status_code == 200
    checked = len(hashes)
    refused = _post_login(client, world.clerk.username, PASSWORD)
    assert refused.status_code == 429 and "尝试次数过多" in _alert(refused)
    assert len(hashes) == checked, "no password is checked while throttled"
    assert client.get("/admin/").status_code == 302
    # the same for a username that does not exist: nothing tells them apart
    for _ in range(3):
        _post_login(client, "ghost-user", "wrong-password")
    assert _post_login(client, "ghost-user", "x").status_code == 429
    # another account is not affected
    assert _post_login(client, world.worker.username, PASSWORD).status_code == 302


def test_failures_per_address_are_throttled(app, world, production_limits):
    production_limits["LOGIN_FAILURES_PER_IP"] = "4 per minute"
    db.session.commit()
    attacker = app.test_client()
    for n in range(4):
        _post_login(attacker, f"guess-{n}", "wrong-password")
    assert _post_login(attacker, world.clerk.username, PASSWORD).status_code == 429
    elsewhere = app.test_client()
    response = elsewhere.post(
        "/login",
        data={"username": world.clerk.username, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert response.status_code == 302


def test_every_failure_is_logged_without_the_password(app, world, caplog):
    db.session.commit()
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="app.auth"):
        _post_login(client, world.clerk.username, "Secret-guess-1")
        _post_login(client, "typed-my-password-here", "Secret-guess-2")
    failures = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) == 2
    assert f"user {world.clerk.id}" in failures[0] and "wrong password" in failures[0]
    assert "unknown username" in failures[1]
    assert "Secret-guess" not in caplog.text
    assert "typed-my-password-here" not in caplog.text  # often a password typed by mistake


# ---------------------------------------------------------- sessions that end
def _logged_in(app, user, **extra):
    db.session.commit()
    client = app.test_client()
    assert _post_login(client, user.username, PASSWORD, **extra).status_code == 302
    return client


def _logout(client):
    assert client.post("/logout").status_code == 302


def test_an_old_session_cookie_is_refused_after_logout(app, world):
    client = _logged_in(app, world.worker)
    stolen = client.get_cookie("session").value
    _logout(client)
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/admin/household/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_remember_cookie_is_refused_after_logout_on_another_device(app, world):
    phone = _logged_in(app, world.worker, remember="y")
    remember = phone.get_cookie("remember_token")
    assert remember is not None
    desk = _logged_in(app, world.worker)
    _logout(desk)  # logging out anywhere logs out everywhere
    assert phone.get("/admin/household/").status_code == 302
    thief = app.test_client()
    thief.set_cookie("remember_token", remember.value)
    assert thief.get("/admin/household/").status_code == 302


def test_a_remember_cookie_works_until_then(app, world):
    phone = _logged_in(app, world.worker, remember="y")
    token = phone.get_cookie("remember_token").value
    later = app.test_client()  # the browser was closed: no session cookie
    later.set_cookie("remember_token", token)
    assert later.get("/admin/household/").status_code == 200


def test_remember_cookie_is_httponly_and_samesite_lax(app, world):
    db.session.commit()
    client = app.test_client()
    response = _post_login(client, world.worker.username, PASSWORD, remember="y")
    cookie = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure():
    from config import ProductionConfig

    assert ProductionConfig.REMEMBER_COOKIE_SECURE and ProductionConfig.SESSION_COOKIE_SECURE
    assert ProductionConfig.REMEMBER_COOKIE_SAMESITE == "Lax"


@pytest.mark.parametrize(
    "change",
    [
        lambda user, world: setattr(user, "is_active", False),
        lambda user, world: (
            setattr(user, "role", "street_clerk") or setattr(user, "area", world.street)
        ),
        lambda user, world: setattr(user, "area", world.neighbour),
        lambda user, world: user.set_password("Xin-de-mi-ma-2026"),
    ],
    ids=["deactivated", "new role", "new area", "new password"],
)
def test_these_changes_end_every_session_of_the_user(app, world, change):
    client = _logged_in(app, world.worker, remember="y")
    remember = client.get_cookie("remember_token").value
    assert client.get("/admin/household/").status_code == 200
    user = db.session.get(User, world.worker.id)
    change(user, world)
    db.session.commit()
    assert client.get("/admin/household/").status_code == 302
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/admin/household/").status_code == 302


def test_saving_a_user_unchanged_keeps_their_sessions(app, world):
    client = _logged_in(app, world.worker)
    user = db.session.get(User, world.worker.id)
    user.role, user.area, user.is_active = user.role, user.area, user.is_active
    user.full_name = "改了名字"
    db.session.commit()
    assert client.get("/admin/household/").status_code == 200


def test_a_cookie_of_the_old_format_is_refused(app, world):
    from app.services.users import user_for_session

    assert user_for_session(str(world.worker.id)) is None
    assert user_for_session(f"{world.worker.id}:{world.worker.auth_version}") == world.worker
    assert user_for_session(f"{world.worker.id}:99") is None
    assert user_for_session("x:1") is None


# ---------------------------------------------------------- changing a password
def test_a_worker_changes_their_own_password_and_other_sessions_end(app, world):
    desk = _logged_in(app, world.worker)
    phone = _logged_in(app, world.worker)
    assert desk.get("/account/password").status_code == 200
    response = desk.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Chang-jiang-xi-lu-9",
            "confirm": "Chang-jiang-xi-lu-9",
        },
    )
    assert response.status_code == 302
    assert desk.get("/admin/household/").status_code == 200, "this session goes on"
    assert phone.get("/admin/household/").status_code == 302, "the others end"
    fresh = app.test_client()
    assert _post_login(fresh, world.worker.username, "Chang-jiang-xi-lu-9").status_code == 302


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"current_password": "wrong-one", "new_password": "Chang-jiang-xi-lu-9"},
            "current_password",
            "当前密码不正确",
        ),
        ({"new_password": "short"}, "new_password", "至少 10 个字符"),
        ({"new_password": "password2024!"}, "new_password", "过于常见"),
        ({"new_password": "yijia-demo-2019"}, "new_password", "过于常见"),
        ({"new_password": PASSWORD}, "new_password", "不能与当前密码相同"),
        ({"new_password": "Chang-jiang-xi-lu-9", "confirm": "other"}, "confirm", "不一致"),
    ],
)
def test_a_refused_new_password_says_why_beside_the_field(app, world, data, field, message):
    client = _logged_in(app, world.worker)
    form = {"current_password": PASSWORD, **data}
    form.setdefault("confirm", form["new_password"])
    response = client.post("/account/password", data=form)
    assert response.status_code == 200
    block = re.search(rf'id="{field}"[^>]*>(.*?)</div>\s*(?:<small|</div>)', response.text, re.S)
    assert block and message in block.group(1), response.text
    db.session.expire_all()
    assert world.worker.check_password(PASSWORD)


def test_the_username_is_not_a_password(app, world):
    client = _logged_in(app, world.worker)
    new = f"{world.worker.username}-2026X"
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm": new},
    )
    assert "不得包含用户名" in response.text


def test_wrong_current_passwords_are_throttled(app, world):
    app.config["PASSWORD_CHANGE_FAILURES"] = "2 per minute"
    client = _logged_in(app, world.worker)
    data = {"current_password": "nope", "new_password": "Chang-jiang-xi-lu-9"}
    data["confirm"] = data["new_password"]
    for _ in range(2):
        assert client.post("/account/password", data=data).status_code == 200
    assert client.post("/account/password", data=data).status_code == 429


# ------------------------------------------------------------------ redirects
@pytest.mark.parametrize(
    ("next_value", "lands_on"),
    [
        ("/admin/household/", "/admin/household/"),
        ("/%09/evil.example", "/admin/"),
        ("//evil.example", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("https://evil.example/", "/admin/"),
    ],
)
def test_login_sends_only_to_this_site(app, world, next_value, lands_on):
    db.session.commit()
    client = app.test_client()
    response = client.post(
        "/login",
        query_string={"next": next_value},
        data={"username": world.worker.username, "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on


def test_the_language_switch_sends_only_to_this_site(app):
    response = app.test_client().post(
        "/language", data={"locale": "en", "next": "/\t/evil.example"}
    )
    assert response.headers["Location"] == "/admin/"


# ------------------------------------------------------------------ seed-demo
def test_seed_demo_refuses_to_run_in_production(app):
    app.config["IS_PRODUCTION"] = True
    result = app.test_cli_runner().invoke(args=["seed-demo", "--households", "1"])
    assert result.exit_code != 0 and "production" in result.output
    assert db.session.scalar(select(User).where(User.username == "admin")) is None


def test_seed_demo_refuses_when_yijia_env_says_production(app, monkeypatch):
    monkeypatch.setenv("YIJIA_ENV", "production")
    result = app.test_cli_runner().invoke(args=["seed-demo", "--households", "1"])
    assert result.exit_code != 0
    assert db.session.scalar(select(User).where(User.username == "admin")) is None


# ----------------------------------------------------------------- log scrubbing
ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"


def test_a_handler_added_later_prints_no_id_number_nor_traceback_text(app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.scrubbing")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("looked up %s, phone %s", ID_NUMBER, PHONE)
        try:
            raise ValueError(f"bad id {ID_NUMBER}")
        except ValueError:
            logger.exception("while saving %s", PHONE)
        logger.warning("stack", stack_info=True, extra={})
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert ID_NUMBER not in text and PHONE not in text, text
    assert "110105********002X" in text and "ValueError: bad id" in text


def test_the_app_handlers_use_the_scrubbing_formatter(app):
    from flask.logging import default_handler

    from app.logs import ScrubbingFormatter

    assert isinstance(default_handler.formatter, ScrubbingFormatter)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "id %s", (ID_NUMBER,), None)
    assert ID_NUMBER not in ScrubbingFormatter().format(record)


# -------------------------------------------------------- Content-Security-Policy
def _nonce(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    return re.search(r"'nonce-([^']+)'", policy).group(1)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/household/",
        "/admin/household/new/",
        "/admin/need/",
        "/admin/user/",
        "/admin/user/new/",
        "/account/password",
    ],
)
def test_every_script_of_a_page_carries_its_nonce(app, world, login, path):
    response = login(world.admin).get(path)
    assert response.status_code == 200
    nonce = _nonce(response)
    scripts = re.findall(r"<script\b[^>]*>", response.text)
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag
    # no inline event handler: the policy would refuse it (Flask-Admin's are replaced
    # by our copies of its templates and static/yijia.js)
    assert not re.search(r"\son[a-z]+\s*=", response.text)


def test_the_login_page_has_a_policy_too(app):
    response = app.test_client().get("/login")
    _nonce(response)
    assert "<style" not in response.text and "style=" not in response.text


def test_nonces_differ_between_requests(app):
    client = app.test_client()
    assert _nonce(client.get("/login")) != _nonce(client.get("/login"))


# ------------------------------------------------------------ the throttle helper
def test_allow_counts_per_user_and_address(app, world, caplog):
    app.config["TEST_LOOKUP_LIMIT"] = "2 per minute"
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "10.1.1.1"}):
        assert throttle.allow("test-lookup", "TEST_LOOKUP_LIMIT")
        assert throttle.allow("test-lookup", "TEST_LOOKUP_LIMIT")
        with caplog.at_level(logging.WARNING, logger="app.throttle"):
            assert not throttle.allow("test-lookup", "TEST_LOOKUP_LIMIT")
        assert "throttled test-lookup" in caplog.text
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "10.1.1.2"}):
        assert throttle.allow("test-lookup", "TEST_LOOKUP_LIMIT")
    # outside a request (CLI, imports) nothing is throttled
    assert all(throttle.allow("test-lookup", "TEST_LOOKUP_LIMIT") for _ in range(5))


def test_id_number_checks_are_throttled_and_logged(app, caplog):
    app.config["ID_NUMBER_CHECK_LIMIT"] = "3 per hour"
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "10.2.2.2"}):
        with caplog.at_level(logging.INFO, logger="app.throttle"):
            results = [throttle.allow_id_number_check() for _ in range(4)]
    assert results == [True, True, True, False]
    assert caplog.text.count("id-number check by user") == 4


def test_hit_is_allowed_and_clear(app):
    with app.test_request_context("/"):
        assert throttle.is_allowed("t", "k", "2 per minute")
        assert throttle.hit("t", "k", "2 per minute")
        assert throttle.hit("t", "k", "2 per minute")
        assert not throttle.is_allowed("t", "k", "2 per minute")
        assert not throttle.hit("t", "k", "2 per minute")
        throttle.clear("t", "k", "2 per minute")
        assert throttle.is_allowed("t", "k", "2 per minute")


def _redis_reachable() -> bool:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")
def test_the_throttle_counts_in_redis_when_configured(backend):
    import uuid

    from app import create_app
    from tests.conftest import config_for

    prefix = f"yijia-test-{uuid.uuid4().hex[:8]}"
    url = backend.fresh()
    app = create_app(
        config_for(
            url,
            RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
            RATELIMIT_KEY_PREFIX=prefix,
        )
    )
    from app.extensions import limiter

    with app.test_request_context("/"):
        assert type(limiter.storage).__name__ == "RedisStorage"
        assert throttle.hit("t", "k", "1 per minute")
        assert not throttle.hit("t", "k", "1 per minute")
        throttle.clear("t", "k", "1 per minute")
    with app.app_context():
        db.engine.dispose()
    backend.drop(url)


def test_unlocking_also_lifts_the_throttle_of_that_username(app, world, login, production_limits):
    production_limits["LOGIN_FAILURES_PER_ACCOUNT"] = "3 per minute"
    app.config["LOGIN_LOCK_AFTER"] = 3
    db.session.commit()
    client = app.test_client()
    for _ in range(3):
        _post_login(client, world.clerk.username, "wrong-password")
    assert _post_login(client, world.clerk.username, PASSWORD).status_code == 429
    login(world.admin).post(
        "/admin/user/action/", data={"action": "unlock", "rowid": str(world.clerk.id)}
    )
    assert _post_login(client, world.clerk.username, PASSWORD).status_code == 302


def test_production_pages_ask_for_https(app):
    app.config["IS_PRODUCTION"] = True
    assert "max-age" in app.test_client().get("/login").headers["Strict-Transport-Security"]
