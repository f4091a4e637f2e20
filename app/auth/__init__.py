"""Login, logout, changing one's own password, and the language switch.

What a guesser meets at ``/login``:

- failures are counted per client address and per typed username, known or not
  (``LOGIN_FAILURES_PER_IP``, ``LOGIN_FAILURES_PER_ACCOUNT``, ``app/throttle.py``);
  over either limit no password is checked and the page answers 429;
- an unknown username, a wrong password, a locked and a deactivated account all get
  the same answer after the same work (one password hash; ``users.authenticate``);
- ``LOGIN_LOCK_AFTER`` wrong passwords in a row lock the account until the district
  administrator unlocks it (系统设置 → 用户);
- every failure is logged, with the reason, the account's id (or a hash of an unknown
  username) and the address; never the password, never what was typed as a name.

A password given by an administrator must be changed before anything else: every
request of such a user is sent to the change-password page.
"""

import logging

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app import throttle
from app.services import audit, users
from app.urls import safe_redirect_target

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

LOGIN_FAILED = _l(
    "Wrong username or password. After repeated failures the account is locked; "
    "the district administrator can unlock it."
)
#: what a user who must change their password may still open
OPEN_WHILE_CHANGING_PASSWORD = {
    "auth.change_password",
    "auth.logout",
    "auth.set_language",
    "static",
    "admin.static",
    "healthz",
}


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Remember me"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=200)]
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=users.MAX_PASSWORD_LENGTH)],
        description=_l(
            "At least %(count)s characters; not your username and not a common password.",
            count=users.MIN_PASSWORD_LENGTH,
        ),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
    )


def _landing() -> str:
    return url_for("admin.index")


def _next_target() -> str:
    return safe_redirect_target(request.args.get("next"), _landing())


@bp.before_app_request
def require_own_password():
    """A user holding a password an administrator gave must choose their own first."""
    if (
        current_user.is_authenticated
        and current_user.must_change_password
        and request.endpoint not in OPEN_WHILE_CHANGING_PASSWORD
    ):
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.change_password", next=target))
    return None


@bp.route("/")
def home():
    return redirect(_landing())


def _throttle_limits():
    config = current_app.config
    return (
        ("login-ip", throttle.client_address(), config["LOGIN_FAILURES_PER_IP"]),
        (
            "login-account",
            throttle.account_key(request.form.get("username")),
            config["LOGIN_FAILURES_PER_ACCOUNT"],
        ),
    )


@bp.route("/login", methods=("GET", "POST"))
def login():
    if current_user.is_authenticated:
        return redirect(_next_target())
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        limits = _throttle_limits()
        address = throttle.client_address()
        if not all(throttle.is_allowed(*limit) for limit in limits):
            log.warning("login refused: too many failures (address %s)", address)
            flash(throttle.TOO_MANY_ATTEMPTS, "error")
            return render_template("auth/login.html", form=form), 429
        result = users.authenticate(
            form.username.data, form.password.data, locale=session.get("locale")
        )
        if result.user is None:
            for limit in limits:
                throttle.hit(*limit)
            who = (
                f"user {result.user_id}"
                if result.user_id is not None
                else f"unknown username #{throttle.account_key(form.username.data)[:12]}"
            )
            log.warning("login failed (%s): %s from %s", result.reason, who, address)
            audit.record_failed_login(  # audit trail
                result.user_id, result.reason, throttle.account_key(form.username.data)
            )
            flash(LOGIN_FAILED, "error")
        else:
            locale = session.get("locale")
            session.clear()  # nothing of the anonymous session carries over
            if locale:
                session["locale"] = locale
            login_user(result.user, remember=form.remember.data)
            log.info("login: user %s from %s", result.user.id, address)
            audit.record_login(result.user)  # audit trail
            if result.user.must_change_password:
                return redirect(url_for("auth.change_password", next=_next_target()))
            return redirect(_next_target())
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=("POST",))
@login_required
def logout():
    """Logs out everywhere: this and every other session and remember-me cookie."""
    users.end_sessions(current_user._get_current_object())
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=("GET", "POST"))
@login_required
def change_password():
    """Any logged-in user chooses a new password (and must, after an administrator
    set one). Every other session of the user ends; this one goes on."""
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    limit = ("password-change", f"user:{user.id}", current_app.config["PASSWORD_CHANGE_FAILURES"])
    if form.validate_on_submit():
        if not throttle.is_allowed(*limit):
            log.warning("password change refused: too many failures (user %s)", user.id)
            flash(throttle.TOO_MANY_ATTEMPTS, "error")
            return render_template("auth/change_password.html", form=form), 429
        try:
            users.change_own_password(
                user, current=form.current_password.data, new=form.new_password.data
            )
        except users.AccountError as exc:
            if exc.field == "current_password":
                throttle.hit(*limit)
                log.warning("password change: wrong current password (user %s)", user.id)
            field = getattr(form, exc.field or "", None) or form.new_password
            field.errors = [*field.errors, str(exc)]
        else:
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            login_user(user, remember=remember in request.cookies)
            flash(_("Your password has been changed."), "success")
            return redirect(_next_target())
    return render_template("auth/change_password.html", form=form)


@bp.route("/language", methods=("POST",))
def set_language():
    """Switch the interface language; remembered on the account, or the session."""
    from app.extensions import db

    code = request.form.get("locale", "")
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(safe_redirect_target(request.form.get("next"), _landing()))
