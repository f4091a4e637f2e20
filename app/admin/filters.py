"""Filters whose option lists are computed per request, inside the user's scope."""

from flask import g, has_request_context
from flask_admin.contrib.sqla.filters import IntEqualFilter
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import access
from app.extensions import db
from app.models import Area


def _areas(level: str):
    """The options of an area filter: built once per request (Flask-Admin asks for them
    several times while it renders a list), inside the user's scope."""

    def options():
        if not has_request_context() or not current_user.is_authenticated:
            return []
        cache = g.setdefault("_yj_area_options", {})
        key = (level, current_user.id, access.selected_street_id())
        if key not in cache:
            stmt = access.visible(Area, current_user).where(Area.level == level)
            stmt = stmt.order_by(Area.parent_id, Area.name)
            cache[key] = [(str(a.id), a.full_name) for a in db.session.scalars(stmt)]
        return cache[key]

    return options


def area_filters(model) -> list:
    """ "Street is …" and "Community is …" filters for a model with area columns."""
    return [
        IntEqualFilter(model.street_id, _l("Street"), options=_areas("street")),
        IntEqualFilter(model.community_id, _l("Community"), options=_areas("community")),
    ]
