"""Application factory."""

import logging

from flask import Flask, has_request_context, jsonify, session
from flask_login import current_user

from app.extensions import babel, csrf, db, login_manager, migrate


def create_app(config=None) -> Flask:
    """Build the app. ``config`` is a config class or object (default: from env)."""
    from config import config_from_env

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config or config_from_env())
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_security_headers(app)

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


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "warning"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")

    from app.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        from app.validation import parse_id

        pk = parse_id(user_id)
        if pk is None:
            return None
        user = db.session.get(User, pk)
        return user if user is not None and user.is_active else None


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
    def server_error(_exc):
        db.session.rollback()
        return render_error(500)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if current_user and getattr(current_user, "is_authenticated", False):
            # Pages with personal data are never cached by browsers or proxies.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


class ScrubPersonalData(logging.Filter):
    """Masks anything that looks like an ID number or a mobile phone in log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        from app.validation import ID_NUMBER_PATTERN, PHONE_PATTERN, mask_id_number, mask_phone

        message = record.getMessage()
        scrubbed = ID_NUMBER_PATTERN.sub(lambda m: mask_id_number(m.group()), message)
        scrubbed = PHONE_PATTERN.sub(lambda m: mask_phone(m.group()), scrubbed)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def register_logging(app: Flask) -> None:
    scrub = ScrubPersonalData()
    for name in ("", "werkzeug", "gunicorn.access", "gunicorn.error", "flask_admin", app.name):
        logging.getLogger(name).addFilter(scrub)
    for handler in logging.getLogger().handlers:
        handler.addFilter(scrub)
