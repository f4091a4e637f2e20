"""Accounts: creating them, the password policy, logging in and out, locks.

The rules live here (and on ``User``), so the panel's account form, the login page
and the CLI hit the same ones:

- **password policy** (``password_problem``): at least ``MIN_PASSWORD_LENGTH``
  characters, not containing the username, not a common password nor a common one
  with digits or signs added (``common_passwords.txt``), not a handful of repeated
  characters;
- **role and area agree** (``role_area_problems`` on the model, checked at every
  flush as well);
- **logging in** (``authenticate``) costs one password hash whatever happens (a dummy
  one for an unknown username), counts wrong passwords and locks the account after
  ``LOGIN_LOCK_AFTER`` in a row; it says *why* only to the log, never to the person;
- **sessions end** with ``end_sessions`` (logout), a new password, deactivation or a
  change of role or area (see ``app/models/user.py``).

Transactions (``app/services/transaction.py``): ``create_user``, ``add_area``,
``authenticate``, ``change_own_password`` and ``end_sessions`` commit;
``reset_password``, ``deactivate``, ``activate`` and ``unlock`` only change the user
(the panel's save or the CLI commits).
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import throttle
from app.extensions import db
from app.models import Area, Organisation, User
from app.models.user import check_dummy_password, role_area_problems
from app.services.transaction import transactional
from app.validation import InvalidValue

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
#: letters, digits and . _ - ; 3 to 40 characters
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,39}$")
_COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


class AccountError(InvalidValue):
    """A refusal that belongs beside one field of an account form (``field``)."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field


# ------------------------------------------------------------------ the policy
@functools.cache
def common_passwords() -> frozenset[str]:
    lines = _COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")
    )


def _stem(password: str) -> str:
    """``"Password2024!"`` → ``"password"``: digits and signs at the end dropped."""
    return re.sub(r"[\W\d_]+$", "", password.casefold())


def password_problem(password: str | None, *, username: str | None = None):
    """Why ``password`` may not be used by ``username``, or None when it may."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _l("A password has at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _l("A password has at most %(count)s characters.", count=MAX_PASSWORD_LENGTH)
    folded = password.casefold()
    name = (username or "").strip().casefold()
    if name and name in folded:
        return _l("A password may not contain the username.")
    common = common_passwords()
    if folded in common or _stem(password) in common:
        return _l("This password is too common; choose another one.")
    if len(set(folded)) < 4:
        return _l("This password is too simple; use more different characters.")
    return None


def check_password_policy(password: str | None, *, username: str | None = None) -> None:
    """Raise ``AccountError`` (field ``password``) unless the policy allows ``password``."""
    problem = password_problem(password, username=username)
    if problem is not None:
        raise AccountError(problem, "password")


def username_problem(username: str | None, *, current: User | None = None):
    """Why ``username`` cannot name a new account (or ``current``), or None."""
    name = (username or "").strip()
    if not USERNAME_RE.match(name):
        return _l(
            "A username has 3 to 40 letters, digits or . _ - and starts with a letter or digit."
        )
    taken = db.session.scalar(select(User.id).where(User.username == name))
    if taken is not None and (current is None or taken != current.id):
        return _l("This username is taken.")
    return None


def own_account_problem(actor: User | None, user: User, *, role: str, is_active: bool):
    """An administrator may not take away their own access: not deactivate their own
    account, nor give it another role (the district would be left without one)."""
    if actor is None or user.id is None or actor.id != user.id:
        return None
    if not is_active:
        return {"is_active": _l("You cannot deactivate your own account.")}
    if role != user.role:
        return {"role": _l("You cannot change the role of your own account.")}
    return None


# --------------------------------------------------------------- accounts
@transactional
def create_user(
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    area_name: str | None = None,
    organisation_name: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Create an active account; raises InvalidValue for anything wrong, saving nothing.
    (The panel creates accounts through its form, with the same rules.)"""
    username = (username or "").strip()
    problem = username_problem(username)
    if problem:
        raise AccountError(problem, "username")
    check_password_policy(password, username=username)
    area = None
    if area_name:
        areas = db.session.scalars(select(Area).where(Area.name == area_name)).all()
        if len(areas) != 1:
            raise AccountError(_l("No single area has this name."), "area")
        area = areas[0]
    organisation = None
    if organisation_name:
        organisation = db.session.scalar(
            select(Organisation).where(Organisation.name == organisation_name)
        )
        if organisation is None:
            raise AccountError(_l("No organisation has this name."), "organisation")
    for field, message in role_area_problems(role, area, organisation).items():
        raise AccountError(message, field)
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        area=area,
        organisation=organisation,
        is_active=True,
        must_change_password=must_change_password,
    )
    user.set_password(password)
    db.session.add(user)
    return user


def reset_password(user: User, password: str) -> None:
    """An administrator gives ``user`` a new initial password: checked against the
    policy, to be changed at the next login; unlocks the account and ends its
    sessions. Flushes nothing; the caller commits."""
    check_password_policy(password, username=user.username)
    user.set_password(password)
    user.must_change_password = True
    unlock(user)


def deactivate(user: User) -> None:
    """The account can no longer log in, and its sessions end; it is kept (records
    name who made them). The caller commits."""
    user.is_active = False


def activate(user: User) -> None:
    user.is_active = True


def unlock(user: User) -> None:
    """Lift the lock of too many failed logins, and the login form's count of this
    username's recent failures. The caller commits."""
    user.unlock()
    if user.username:
        throttle.clear(
            "login-account",
            throttle.account_key(user.username),
            current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
        )


@transactional
def end_sessions(user: User) -> None:
    """Log ``user`` out everywhere: every session and remember-me cookie stops working."""
    user.end_sessions()


@transactional
def change_own_password(user: User, *, current: str, new: str) -> None:
    """The logged-in ``user`` chooses a new password. Refuses a wrong current password
    (field ``current_password``), the same password again, or one the policy refuses
    (field ``new_password``). Ends every other session."""
    if not user.check_password(current):
        raise AccountError(_l("The current password is wrong."), "current_password")
    if new == current:
        raise AccountError(_l("The new password must differ from the current one."), "new_password")
    problem = password_problem(new, username=user.username)
    if problem is not None:
        raise AccountError(problem, "new_password")
    user.set_password(new)
    user.must_change_password = False
    log.info("user %s changed their password", user.id)


def user_for_session(session_id) -> User | None:
    """Flask-Login's user loader: the active user whose *current* ``auth_version`` the
    session (or remember-me cookie) carries, else None (the cookie is refused)."""
    parsed = User.parse_session_id(session_id)
    if parsed is None:
        return None
    pk, version = parsed
    user = db.session.get(User, pk)
    if user is None or not user.is_active or (user.auth_version or 1) != version:
        return None
    return user


# ---------------------------------------------------------------- logging in
@dataclass(frozen=True)
class LoginResult:
    """``user`` when the login succeeds; ``reason`` and ``user_id`` (the account
    tried, when it exists) are for the log only."""

    user: User | None
    reason: str
    user_id: int | None = None


@transactional
def authenticate(username: str, password: str, *, locale: str | None = None) -> LoginResult:
    """Check a login. Always exactly one password hash, so an unknown username takes
    as long as a wrong password; a wrong password counts towards the lock; a locked or
    deactivated account does not log in even with the right password. Commits the
    counts (and, on success, the login time and ``locale`` when the account has none)."""
    name = (username or "").strip()
    user = db.session.scalar(select(User).where(User.username == name)) if name else None
    if user is None:
        check_dummy_password(password)
        return LoginResult(None, "unknown username")
    if not user.check_password(password):
        if user.record_failed_login(current_app.config["LOGIN_LOCK_AFTER"]):
            log.warning(
                "account %s locked after %s failed logins", user.id, user.failed_login_count
            )
        return LoginResult(None, "wrong password", user.id)
    if user.is_locked:
        return LoginResult(None, "account locked", user.id)
    if not user.is_active:
        return LoginResult(None, "account deactivated", user.id)
    user.record_login()
    if locale and not user.locale:
        user.locale = locale
    return LoginResult(user, "ok", user.id)


@transactional
def add_area(*, name: str, level: str, parent_name: str | None = None) -> Area:
    """Add an area under its parent (found by name); refuses duplicates and wrong levels."""
    parent = None
    if parent_name:
        parents = db.session.scalars(select(Area).where(Area.name == parent_name)).all()
        if len(parents) != 1:
            raise InvalidValue(_l("No single area has this name."))
        parent = parents[0]
    if db.session.scalar(
        select(Area.id).where(Area.name == name, Area.parent_id == (parent.id if parent else None))
    ):
        raise InvalidValue(_l("This area already exists."))
    area = Area(name=name, level=level, parent=parent)
    db.session.add(area)
    return area
