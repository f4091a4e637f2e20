"""Login, logout and the language switch."""

from urllib.parse import urlsplit

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
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.extensions import db
from app.models import User
from app.models.base import utcnow

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Remember me"))


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login page cannot send anyone elsewhere."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme and "\\" not in target:
            return target
    return url_for("admin.index")


@bp.route("/")
def home():
    return redirect(url_for("admin.index"))


@bp.route("/login", methods=("GET", "POST"))
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if user is None or not user.check_password(form.password.data):
            flash(_("Wrong username or password."), "error")
        elif not user.is_active:
            flash(_("This account has been deactivated."), "error")
        else:
            session.pop("street_id", None)
            login_user(user, remember=form.remember.data)
            user.last_login_at = utcnow()
            if session.get("locale") and not user.locale:
                user.locale = session["locale"]
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=("POST",))
@login_required
def logout():
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=("POST",))
def set_language():
    """Switch the interface language; remembered on the account, or the session."""
    code = request.form.get("locale", "")
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))
