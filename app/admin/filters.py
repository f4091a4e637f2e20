"""Filters whose option lists are computed per request, inside the user's scope."""

from flask import has_request_context
from flask_admin.contrib.sqla.filters import IntEqualFilter
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import access


def _areas(level: str):
    """The options of an area filter, inside the user's scope, from the kept area tree
    (``app/models/area_tree.py``): no query but the tree's version, once a request."""

    def options():
        if not has_request_context() or not current_user.is_authenticated:
            return []
        return [(str(n.id), n.full_name) for n in access.visible_areas(current_user, level)]

    return options


def area_filters(model) -> list:
    """ "Street is …" and "Community is …" filters for a model with area columns."""
    return [
        IntEqualFilter(model.street_id, _l("Street"), options=_areas("street")),
        IntEqualFilter(model.community_id, _l("Community"), options=_areas("community")),
    ]
