"""People who log in, each with one role and one area.

Sessions end on the server's word: every session and "remember me" cookie carries the
user's ``auth_version`` (through ``get_id``), and the user loader refuses a cookie whose
version is not the current one. The version goes up at logout, on a new password, on
deactivation and on a change of role or area, so every cookie issued before stops
working, on every device.
"""

import datetime as dt
import functools
import secrets

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, false
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.base import TrackedMixin, utcnow
from app.models.choices import ROLES, check_in, values
from app.validation import InvalidValue, parse_id

DISTRICT_ROLES = ("district_admin", "district_manager")
#: the area level each role must be attached to
ROLE_AREA_LEVEL = {
    "district_admin": "district",
    "district_manager": "district",
    "street_clerk": "street",
    "community_worker": "community",
    "sponsor": None,
}


#: what the role needs, said beside the area field
AREA_NEEDED = {
    "district_admin": _l("A district role belongs to the district."),
    "district_manager": _l("A district role belongs to the district."),
    "street_clerk": _l("A street-office clerk belongs to a street."),
    "community_worker": _l("A community worker belongs to a community."),
}


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made like every user's: checked against when the
    username is unknown, so an unknown name costs the same time as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16))


def check_dummy_password(password: str) -> bool:
    """Spend one password check on nobody's hash; always False."""
    check_password_hash(_dummy_hash(), password or "")
    return False


def role_area_problems(role, area, organisation) -> dict:
    """What is wrong with this role, area and organisation together, by field
    (``{"area": message}``); empty when they fit. The one rule behind the model's
    check, the account form and ``flask create-user``."""
    from app.models.choices import SPONSOR_ORGANISATION_KINDS

    if role not in values(ROLES):
        return {"role": _l("Choose a role.")}
    problems = {}
    if role == "sponsor":
        if organisation is None or organisation.kind not in SPONSOR_ORGANISATION_KINDS:
            problems["organisation"] = _l(
                "A sponsor account belongs to an enterprise or social organisation."
            )
        if area is not None:
            problems["area"] = _l("A sponsor account has no area; leave it empty.")
        return problems
    if area is None or area.level != ROLE_AREA_LEVEL[role]:
        problems["area"] = AREA_NEEDED[role]
    if organisation is not None:
        problems["organisation"] = _l("Only sponsor accounts belong to an organisation.")
    return problems


class User(UserMixin, TrackedMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(check_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: preferred interface language, e.g. zh_Hans_CN or en
    locale: Mapped[str | None] = mapped_column(String(12))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: part of every session and remember-me cookie; raised to end them all
    auth_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: set for a password an administrator gave: the user must choose their own
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: failed logins since the last successful one
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: when too many failed logins locked the account; an administrator unlocks it
    locked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    area: Mapped["Area | None"] = relationship(foreign_keys=[area_id])  # noqa: F821
    organisation: Mapped["Organisation | None"] = relationship(  # noqa: F821
        foreign_keys=[organisation_id]
    )

    # ------------------------------------------------------------ sessions
    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember-me cookie."""
        return f"{self.id}:{self.auth_version or 1}"

    @staticmethod
    def parse_session_id(value) -> tuple[int, int] | None:
        """``"12:3"`` → ``(12, 3)``; anything else (an old plain id too) → None."""
        user_id, sep, version = str(value or "").partition(":")
        pk, ver = parse_id(user_id), parse_id(version)
        if not sep or pk is None or ver is None:
            return None
        return pk, ver

    def end_sessions(self) -> None:
        """Every session and remember-me cookie issued so far stops working."""
        self.auth_version = (self.auth_version or 1) + 1

    def _is_saved(self) -> bool:
        return sa_inspect(self).has_identity

    def _current(self, key):
        """The value ``key`` has now, read without flushing half-made changes."""
        session = sa_inspect(self).session
        if session is None:
            return getattr(self, key)
        with session.no_autoflush:
            return getattr(self, key)

    @validates("role", "is_active", "area_id", "organisation_id")
    def _end_sessions_on_change(self, key, value):
        if self._is_saved() and self._current(key) != value:
            self.end_sessions()
        return value

    @validates("area", "organisation")
    def _end_sessions_on_new_place(self, key, value):
        if self._is_saved() and self._current(key) is not value:
            self.end_sessions()
        return value

    # ----------------------------------------------------------- passwords
    def set_password(self, password: str) -> None:
        """A new password (already checked against the policy by the caller); ends
        the sessions opened with the old one."""
        self.password_hash = generate_password_hash(password)
        self.password_changed_at = utcnow()
        if self._is_saved():
            self.end_sessions()

    def check_password(self, password: str) -> bool:
        """Always one hash check, also for an account without a password."""
        if not self.password_hash:
            return check_dummy_password(password)
        return check_password_hash(self.password_hash, password or "")

    # ---------------------------------------------------------- failed logins
    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    def record_failed_login(self, lock_after: int) -> bool:
        """Count a wrong password; lock at ``lock_after`` in a row. True when this
        failure locked the account."""
        self.failed_login_count = (self.failed_login_count or 0) + 1
        if not self.is_locked and self.failed_login_count >= lock_after:
            self.locked_at = utcnow()
            return True
        return False

    def record_login(self) -> None:
        self.failed_login_count = 0
        self.last_login_at = utcnow()

    def unlock(self) -> None:
        self.locked_at = None
        self.failed_login_count = 0

    @property
    def is_district_wide(self) -> bool:
        return self.role in DISTRICT_ROLES

    @property
    def is_staff(self) -> bool:
        return self.role != "sponsor"

    def check_consistency(self) -> None:
        """Staff belong to an area of their role's level; sponsors to an enterprise or
        social organisation and to no area (``role_area_problems``)."""
        problems = role_area_problems(self.role, self.area, self.organisation)
        if problems:
            raise InvalidValue(next(iter(problems.values())))

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）"
