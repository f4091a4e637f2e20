"""Configuration, read from the environment.

``Config`` is what ``make run`` uses: an SQLite file in ``instance/`` unless
``DATABASE_URL`` says otherwise.  ``ProductionConfig`` refuses to start without a
``SECRET_KEY`` and a ``DATABASE_URL``.  ``TestConfig`` is used by the test suite.
"""

import datetime as dt
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _database_url(default: str) -> str:
    return _database_url_from("DATABASE_URL", default)


def _database_url_from(name: str, default: str = "") -> str:
    url = os.environ.get(name, default)
    # Heroku-style and plain postgres URLs both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = _database_url(
        "sqlite:///" + str(BASE_DIR / "instance" / "yijia.sqlite3")
    )
    #: a read-only PostgreSQL streaming replica for heavy read-only pages (the manager's
    #: pages, exports, the dashboard): ``DATABASE_REPLICA_URL``
    DATABASE_REPLICA_URL = _database_url_from("DATABASE_REPLICA_URL") or None
    #: lists above this many rows show an estimated total (``services/counting.py``)
    COUNT_ESTIMATE_ABOVE = int(os.environ.get("COUNT_ESTIMATE_ABOVE", "20000"))
    # Bound parameters (ID numbers, phones) must never reach a log or an error page.
    SQLALCHEMY_ENGINE_OPTIONS = {"hide_parameters": True, "pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    #: "remember me" lasts two weeks (Flask-Login's default is a year), and like the
    #: session cookie is never readable by scripts nor sent by other sites' forms
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=14)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: Flask-Limiter's storage: Redis when REDIS_URL is set (shared by every worker
    #: process), else this process's memory
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_KEY_PREFIX = "yijia"
    #: a moving window: no double burst at the edge of a fixed one
    RATELIMIT_STRATEGY = "moving-window"
    #: failed logins allowed per client address, and per username (known or not),
    #: before the login form refuses to check passwords for a while
    LOGIN_FAILURES_PER_IP = os.environ.get("LOGIN_FAILURES_PER_IP", "30 per 10 minutes")
    LOGIN_FAILURES_PER_ACCOUNT = os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5 per 5 minutes")
    #: consecutive failed logins that lock an account until an administrator unlocks it
    LOGIN_LOCK_AFTER = int(os.environ.get("LOGIN_LOCK_AFTER", "10"))
    #: wrong current passwords on the change-password form, per user
    PASSWORD_CHANGE_FAILURES = os.environ.get("PASSWORD_CHANGE_FAILURES", "5 per 10 minutes")
    #: look-ups of "is this ID number registered?" per user and per client address
    #: (a clerk entering a busy day's households stays well below; a script does not)
    ID_NUMBER_CHECK_LIMIT = os.environ.get("ID_NUMBER_CHECK_LIMIT", "200 per hour; 1000 per day")
    #: number of reverse proxies in front of the app (X-Forwarded-For hops to trust);
    #: 0 means the app is reached directly and the peer address is the client's
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))
    WTF_CSRF_TIME_LIMIT = None
    # Flask-Admin: let IntegrityError reach our own handler, which shows a generic text.
    FLASK_ADMIN_RAISE_ON_VIEW_EXCEPTION = False
    FLASK_ADMIN_SWATCH = "default"
    #: audit events older than this many days may be purged by ``flask audit-retention
    #: --purge --confirm`` (exported to a file first); unset or 0: kept for ever
    AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS") or 0) or None
    #: rows per export file; larger exports are refused with a message
    EXPORT_MAX_ROWS = int(os.environ.get("EXPORT_MAX_ROWS", "200000"))
    #: evidence files live here, outside the static folder, under generated names
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(BASE_DIR / "instance" / "uploads"))
    #: evidence files in an S3 bucket instead (several app servers): e.g.
    #: ``s3://yijia-evidence/prod?endpoint=http://10.0.0.5:9000&region=cn-east-1``;
    #: credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (app/services/storage.py)
    STORAGE_URL = os.environ.get("STORAGE_URL") or None
    #: largest evidence file accepted, in bytes (photos, receipts, agreements)
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
    #: a whole request (a form with several files) may not be larger than this
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(50 * 1024 * 1024)))
    #: monthly reports (XLSX, PDF) are kept here; default: ``reports`` beside UPLOAD_FOLDER
    REPORT_FOLDER = os.environ.get("REPORT_FOLDER") or None
    #: a TrueType font (.ttf/.ttc) with Chinese glyphs, embedded in PDF reports
    REPORT_PDF_FONT = os.environ.get(
        "REPORT_PDF_FONT", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
    )
    #: Redis for background jobs (app/jobs.py) and the login throttle; None: neither
    REDIS_URL = os.environ.get("REDIS_URL") or None
    #: run background jobs (Excel imports) in the calling process instead of on the RQ
    #: queue ``yijia``: always when REDIS_URL is unset, or when JOBS_INLINE is true
    JOBS_INLINE = os.environ.get("JOBS_INLINE", "").lower() in ("1", "true", "yes") or not (
        os.environ.get("REDIS_URL")
    )
    #: seconds a queued job may run before the worker stops it
    JOBS_TIMEOUT = int(os.environ.get("JOBS_TIMEOUT", "3600"))
    #: Excel imports (app/services/imports/): the largest file, rows per file, characters
    #: per cell, bytes a workbook may unpack to, and how many times its packed size one
    #: part may unpack to (more is a zip bomb); refused before parsing
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(20 * 1024 * 1024)))
    IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "100000"))
    IMPORT_MAX_CELL_CHARS = int(os.environ.get("IMPORT_MAX_CELL_CHARS", "2000"))
    IMPORT_MAX_UNPACKED_BYTES = int(
        os.environ.get("IMPORT_MAX_UNPACKED_BYTES", str(200 * 1024 * 1024))
    )
    IMPORT_MAX_RATIO = int(os.environ.get("IMPORT_MAX_RATIO", "100"))
    #: a registered household not visited within this many days is overdue
    VISIT_OVERDUE_DAYS = int(os.environ.get("VISIT_OVERDUE_DAYS", "7"))
    #: a need still open after this many days is overdue
    NEED_OVERDUE_DAYS = int(os.environ.get("NEED_OVERDUE_DAYS", "30"))
    #: a month to check or pay, or a pledge to decide, is overdue after this many days
    HANDOFF_DAYS = int(os.environ.get("HANDOFF_DAYS", "7"))
    #: an approved pledge not received after this many days is an anomaly
    PLEDGE_RECEIPT_OVERDUE_DAYS = int(os.environ.get("PLEDGE_RECEIPT_OVERDUE_DAYS", "30"))
    TESTING = False
    #: production refuses demo data and insists on its secrets
    IS_PRODUCTION = False


class ProductionConfig(Config):
    IS_PRODUCTION = True
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    def __init__(self) -> None:
        key = os.environ.get("SECRET_KEY")
        if not key:
            raise RuntimeError("SECRET_KEY must be set in the environment for production.")
        if "DATABASE_URL" not in os.environ:
            raise RuntimeError("DATABASE_URL must be set for production.")
        self.SECRET_KEY = key


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    #: evidence files in each test's own folder; the S3 tests set a bucket themselves
    STORAGE_URL = None
    #: no replica unless a test sets one (tests/services/test_replica.py)
    DATABASE_REPLICA_URL = None
    #: exact totals: a test database's planner statistics are another test's (the
    #: estimates' own tests set the threshold: tests/admin/test_scale.py)
    COUNT_ESTIMATE_ABOVE = 0
    #: each test app counts on its own; never a developer's Redis
    RATELIMIT_STORAGE_URI = "memory://"
    #: jobs run inline unless a test asks for Redis (tests/test_jobs.py)
    REDIS_URL = None
    JOBS_INLINE = True
    #: the suite logs in hundreds of times from 127.0.0.1; the throttle's own tests
    #: set the production limits back
    LOGIN_FAILURES_PER_IP = "10000 per minute"
    LOGIN_FAILURES_PER_ACCOUNT = "10000 per minute"


def config_from_env():
    """The config class named by YIJIA_ENV (development by default)."""
    name = os.environ.get("YIJIA_ENV", "development")
    if name == "production":
        return ProductionConfig()
    return Config
