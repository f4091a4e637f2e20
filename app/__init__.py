"""Application factory."""

import logging

from flask import Flask, has_request_context, jsonify, session
from flask_login import current_user

from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.templating import UnindentingLoader

log = logging.getLogger(__name__)


def create_app(config=None) -> Flask:
    """Build the app. ``config`` is a config class or object (default: from env)."""
    from config import config_from_env

    app = Flask(__name__, instance_relative_config=True)
    # no blank lines left by {% %} tags: a 20-row list was 100 KB, most of it the
    # indentation of Flask-Admin's templates
    app.jinja_options = {**app.jinja_options, "trim_blocks": True, "lstrip_blocks": True}
    # ... nor their indentation (app/templating.py)
    app.jinja_env.loader = UnindentingLoader(app.jinja_env.loader)
    app.config.from_object(config or config_from_env())
    register_logging(app)
    register_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_replica(app)

    from app.admin import init_admin

    init_admin(app)
    from app.cli import register_cli

    register_cli(app)
    return app


def select_locale() -> str:
    """The user's saved language, else the session's, else Simplified Chinese."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def register_proxies(app: Flask) -> None:
    """Behind ``PROXY_FIX_X_FOR`` reverse proxies, the client's address (which the
    login throttle counts by) is the one they forwarded."""
    hops = app.config.get("PROXY_FIX_X_FOR", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    if app.config.get("IS_PRODUCTION") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        log.warning("REDIS_URL is not set: each worker process counts login failures alone")
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")

    @login_manager.user_loader
    def load_user(session_id: str):
        """Only a cookie carrying the user's current session version (``get_id``)."""
        from app.services.users import user_for_session

        return user_for_session(session_id)


def register_blueprints(app: Flask) -> None:
    from app.auth import bp as auth_bp
    from app.files import bp as files_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(files_bp)

    @app.get("/healthz")
    def healthz():
        """Liveness and database check for deployment probes; no login needed."""
        try:
            db.session.execute(db.text("SELECT 1"))
        except Exception:
            app.logger.error("healthz: database unreachable")
            return jsonify(status="error", database="unreachable"), 503
        return jsonify(status="ok", database="ok")


def register_error_handlers(app: Flask) -> None:
    from flask import render_template

    def render_error(code: int):
        return render_template("error.html", code=code), code

    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, lambda e, code=code: render_error(code))

    @app.errorhandler(500)
    def server_error(exc):
        # tests never get here (exceptions propagate); in production the traceback goes
        # to the log under a reference the user can quote to support
        from flask import request

        from app.errors import new_reference

        db.session.rollback()
        reference = new_reference()
        original = getattr(exc, "original_exception", None) or exc
        app.logger.error(
            "unexpected error %s on %s %s",
            reference,
            request.method,
            request.path,
            exc_info=original,
        )
        return render_template("error.html", code=500, reference=reference), 500

    @app.before_request
    def refuse_nul_bytes():
        """A NUL byte is in no name, address or search a person types, and PostgreSQL
        refuses it in text: a bad request, before any view or query sees it."""
        from flask import abort, request

        values = [*request.args.items(multi=True)]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += [*request.form.items(multi=True)]
        if any("\x00" in key or "\x00" in value for key, value in values):
            abort(400)


#: GET routes whose reads may go to the replica, for every role
REPLICA_ENDPOINTS = ("dashboard.",)
REPLICA_ENDPOINT_SUFFIXES = (".export",)


def register_replica(app: Flask) -> None:
    """With ``DATABASE_REPLICA_URL``, heavy read-only pages read from the replica: every
    page the district manager opens (a read-only role), exports and the dashboard.
    Writes always go to the primary (``RoutingSession``); a replica a second behind is
    fine for figures and downloads, and nobody edits on those pages."""
    from sqlalchemy import create_engine

    from app.extensions import REPLICA

    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    app.extensions[REPLICA] = create_engine(url, **options)

    @app.before_request
    def read_from_replica():
        from flask import g, request

        if request.method != "GET":
            return
        endpoint = request.endpoint or ""
        heavy = endpoint.startswith(REPLICA_ENDPOINTS) or endpoint.endswith(
            REPLICA_ENDPOINT_SUFFIXES
        )
        manager = current_user.is_authenticated and current_user.role == "district_manager"
        if heavy or manager:
            g.read_from_replica = True


def register_security_headers(app: Flask) -> None:
    from app.csp import content_security_policy, csp_nonce

    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("IS_PRODUCTION"):
            # production is served over HTTPS only (its cookies are Secure)
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if current_user and getattr(current_user, "is_authenticated", False):
            # Pages with personal data are never cached by browsers or proxies.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def register_logging(app: Flask) -> None:
    """ID numbers and phones are masked in every log line (``app/logs.py``)."""
    from app.logs import configure_logging

    configure_logging(app)
