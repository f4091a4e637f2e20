"""Fixtures for the browser tests: the real app served over HTTP, and Debian's chromium.

The app runs on a file-based SQLite database holding the demo district, with CSRF
protection ON, so the login form, the language switch and logout are exercised the
way a user's browser uses them. The server is werkzeug's, in a daemon thread on a free
port of 127.0.0.1; it and the browser are started once per session.

Nothing is downloaded: chromium is Debian's ``/usr/bin/chromium``
(``apt-get install chromium``); the tests skip cleanly without it or without the
``playwright`` package.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SKIP_REASON = "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: screenshots for a human to look at (the folder is ignored by git)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def browser_unavailable() -> str | None:
    """None when the browser tests can run, else why not."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return SKIP_REASON + "; the playwright package is not installed"
    if not CHROMIUM.exists():
        return SKIP_REASON
    return None


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: end-to-end tests in a real (headless) chromium; need /usr/bin/chromium"
    )


@dataclass
class LiveServer:
    app: object
    url: str


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app, seeded with the demo district, served on http://127.0.0.1:<free port>."""
    from werkzeug.serving import make_server

    from app import create_app
    from app.demo import seed_demo
    from app.extensions import db
    from config import TestConfig

    tmp = tmp_path_factory.mktemp("browser-db")

    class BrowserConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp}/b.sqlite3"
        UPLOAD_FOLDER = str(tmp / "uploads")  # the demo fund's evidence files
        WTF_CSRF_ENABLED = True

    app = create_app(BrowserConfig)
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="yijia-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def chromium_browser(live_server):
    """Headless Debian chromium, driven by playwright (depends on the server so that
    it is closed first)."""
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.fixture
def page(chromium_browser, live_server):
    """A fresh browser context (no cookies) and page, with the app as base URL."""
    context = chromium_browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def browser_login(page):
    """browser_login("worker") logs the page in through the real form (with its CSRF
    token); returns the page, on the landing page."""
    from app.demo import DEMO_PASSWORD

    def _login(username: str):
        page.goto("/login")
        form = page.locator("form#login-form")
        assert form.locator('input[name="csrf_token"]').get_attribute("value"), "no CSRF token"
        form.locator('input[name="username"]').fill(username)
        form.locator('input[name="password"]').fill(DEMO_PASSWORD)
        with page.expect_navigation():
            form.locator('button[type="submit"]').click()
        assert re.search(r"/admin/?$", page.url), f"login as {username} ended on {page.url}"
        return page

    return _login


@pytest.fixture(scope="session")
def artifacts_dir():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
