"""People who log in, each with one role and one area."""

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.base import TrackedMixin
from app.models.choices import ROLES, check_in
from app.validation import InvalidValue

DISTRICT_ROLES = ("district_admin", "district_manager")
#: the area level each role must be attached to
ROLE_AREA_LEVEL = {
    "district_admin": "district",
    "district_manager": "district",
    "street_clerk": "street",
    "community_worker": "community",
    "sponsor": None,
}


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

    area: Mapped["Area | None"] = relationship(foreign_keys=[area_id])  # noqa: F821
    organisation: Mapped["Organisation | None"] = relationship(  # noqa: F821
        foreign_keys=[organisation_id]
    )

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_district_wide(self) -> bool:
        return self.role in DISTRICT_ROLES

    @property
    def is_staff(self) -> bool:
        return self.role != "sponsor"

    def check_consistency(self) -> None:
        """Staff belong to an area of their role's level; sponsors to an enterprise or
        social organisation and to no area."""
        from app.models.choices import SPONSOR_ORGANISATION_KINDS

        level = ROLE_AREA_LEVEL.get(self.role)
        if self.role == "sponsor":
            if (
                self.organisation is None
                or self.organisation.kind not in SPONSOR_ORGANISATION_KINDS
            ):
                raise InvalidValue(
                    _l("A sponsor account belongs to an enterprise or social organisation.")
                )
            if self.area is not None:
                raise InvalidValue(_l("A sponsor account has no area."))
        else:
            if self.area is None or self.area.level != level:
                raise InvalidValue(
                    _l(
                        "This role needs an area of the matching level: "
                        "the district, a street or a community."
                    )
                )
            if self.organisation is not None:
                raise InvalidValue(_l("Only sponsor accounts belong to an organisation."))

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）"
