"""Accounts."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Area, Organisation, User
from app.validation import InvalidValue


def create_user(
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    area_name: str | None = None,
    organisation_name: str | None = None,
) -> User:
    """Create an active account; raises InvalidValue for anything wrong, saving nothing."""
    if len(password or "") < 10:
        raise InvalidValue(_l("A password has at least 10 characters."))
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise InvalidValue(_l("This username is taken."))
    area = None
    if area_name:
        areas = db.session.scalars(select(Area).where(Area.name == area_name)).all()
        if len(areas) != 1:
            raise InvalidValue(_l("No single area has this name."))
        area = areas[0]
    organisation = None
    if organisation_name:
        organisation = db.session.scalar(
            select(Organisation).where(Organisation.name == organisation_name)
        )
        if organisation is None:
            raise InvalidValue(_l("No organisation has this name."))
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        area=area,
        organisation=organisation,
        is_active=True,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


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
    db.session.commit()
    return area
