"""What every page draws the same for many requests, drawn once and kept: the top menu
(per kind of user and page) and the URLs of the static files.

The top menu:

Flask-Admin draws the menu on every page: for each of some thirty views it asks
whether the user may open it, whether it is the current one, and builds its URL — a
millisecond and a half of each page, for markup that is the same for every user with
the same role, area and organisation, in the same language, on the same page. Kept per
process, bounded; a role or permission change is a different key, a new deployment a
new process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import request, url_for
from flask_babel import get_locale
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

#: kinds of user × pages × languages kept at once
MENU_CACHE_SIZE = 1024

_lock = threading.Lock()
_menus: OrderedDict[tuple, str] = OrderedDict()


def _key(admin_view) -> tuple | None:
    user = current_user._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        user.role,
        user.area_id,
        user.organisation_id,
        user.is_active,
        str(get_locale()),
        request.script_root,
        getattr(admin_view, "endpoint", None),
        getattr(admin_view, "category", None),
    )


@pass_context
def cached_menu(context, draw) -> Markup:
    """``draw()`` (Flask-Admin's ``layout.menu`` macro) once per key, then kept."""
    key = _key(context.get("admin_view"))
    if key is None:
        return Markup(draw())
    with _lock:
        found = _menus.get(key)
        if found is not None:
            _menus.move_to_end(key)
            return Markup(found)
    html = str(draw())
    with _lock:
        _menus[key] = html
        while len(_menus) > MENU_CACHE_SIZE:
            _menus.popitem(last=False)
    return Markup(html)


def forget() -> None:
    with _lock:
        _menus.clear()


_static_urls: dict[tuple, str] = {}


def static_url(endpoint: str, args: dict) -> str:
    """The URL of one of Flask-Admin's static files (``admin/static.html``'s ``url``
    macro): some twenty a page, each a ``url_for`` that always gives the same answer
    for the same file, version and mount point."""
    key = (endpoint, request.script_root, tuple(sorted(args.items())))
    found = _static_urls.get(key)
    if found is None:
        found = _static_urls[key] = url_for(f"{endpoint}.static", **args)
    return found
