"""Matching needs to resources: suggestions, accepting and releasing matches, the list
of matches, and the report of needs still waiting for a resource."""

from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from app import access
from app.access import Permission
from app.admin.base import GatedBaseView, ScopedModelView
from app.admin.filters import area_filters
from app.admin.gate import Row, requires
from app.extensions import db
from app.models import Household, Need, NeedMatch, Resource
from app.models import choices as c
from app.services import matching
from app.services.transaction import committed
from app.urls import safe_redirect_target
from app.validation import InvalidValue


def _link(endpoint, obj, text=None):
    if obj is None:
        return ""
    return Markup(
        f'<a href="{escape(url_for(endpoint + ".details_view", id=obj.id))}">'
        f"{escape(text if text is not None else str(obj))}</a>"
    )


class NeedMatchView(ScopedModelView):
    """Needs linked to resources. Matches are made on a need's "match resources" page
    or a resource's "needs it could serve" page, and ended with "release"."""

    allow_create = allow_edit = allow_delete = False
    choices = {"status": c.MATCH_STATUSES}
    column_list = (
        "id",
        "household",
        "need",
        "resource",
        "quantity",
        "status",
        "created_at",
        "created_by",
        "community",
    )
    column_details_list = (
        "id",
        "household",
        "need",
        "resource",
        "quantity",
        "status",
        "reason",
        "created_at",
        "created_by",
        "released_at",
        "updated_by",
        "street",
        "community",
    )
    column_export_list = (
        "id",
        "household",
        "need",
        "resource",
        "quantity",
        "status",
        "reason",
        "created_at",
        "released_at",
        "street",
        "community",
    )
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "status", "created_at")
    column_labels = {
        "need": _l("Need"),
        "resource": _l("Resource"),
        "reason": _l("Reason"),
        "released_at": _l("Released at"),
    }
    details_template = "admin/need_match_details.html"

    @property
    def column_filters(self):
        return area_filters(NeedMatch) + [
            FilterEqual(NeedMatch.status, _l("Status"), options=c.MATCH_STATUSES)
        ]

    column_formatters = {
        "need": lambda _v, _c, m, _n: _link("need", m.need),
        "resource": lambda _v, _c, m, _n: _link("resource", m.resource),
    }
    column_formatters_export = {
        "need": lambda _v, _c, m, _n: str(m.need),
        "resource": lambda _v, _c, m, _n: str(m.resource),
    }

    def eager(self, query):
        return query.options(
            selectinload(NeedMatch.household).selectinload(Household.community),
            selectinload(NeedMatch.need),
            selectinload(NeedMatch.resource),
            selectinload(NeedMatch.community),
            selectinload(NeedMatch.street),
            selectinload(NeedMatch.created_by),
        )

    # ------------------------------------------------------------ pages
    def _back(self, default):
        return redirect(safe_redirect_target(request.form.get("next"), default))

    @expose("/suggest/")
    @requires(Permission.READ, Row(Need, "need_id"))
    def suggest_view(self):
        """Resources that fit one need, with the reasons; accept one or pick another."""
        need = self.row("need_id")
        may_match = self._may_write() and access.can_write_row(need, current_user)
        suggestions = matching.suggest_resources(need, current_user)
        picker = []
        if may_match:
            picker = db.session.scalars(
                access.visible(Resource, current_user)
                .where(Resource.status == "available")
                .order_by(Resource.name)
                .limit(300)
            ).all()
        active = [m for m in need.matches if m.status == "active"]
        return self.render(
            "admin/need_match_suggest.html",
            need=need,
            suggestions=suggestions,
            picker=picker,
            active=active,
            may_match=may_match,
            c=c,
        )

    @expose("/for-resource/")
    @requires(Permission.READ, Row(Resource, "resource_id"))
    def for_resource_view(self):
        """Open needs a resource could serve, most urgent first."""
        resource = self.row("resource_id")
        suggestions = matching.suggest_needs(resource, current_user)
        may_match = self._may_write()
        writable_ids = {
            s.item.id
            for s in suggestions
            if may_match and access.can_write_row(s.item, current_user)
        }
        return self.render(
            "admin/need_match_for_resource.html",
            resource=resource,
            suggestions=suggestions,
            may_match=may_match,
            writable_ids=writable_ids,
            c=c,
        )

    @expose("/accept/", methods=("POST",))
    @requires(Permission.MATCH_NEED, Row(Need, "need_id", write=True), Row(Resource, "resource_id"))
    def accept_view(self):
        need, resource = self.row("need_id"), self.row("resource_id")
        default = url_for(".suggest_view", need_id=need.id)
        try:
            with committed():
                matching.accept_match(
                    need,
                    resource,
                    user=current_user,
                    quantity=request.form.get("quantity") or "1",
                    reason=request.form.get("reason", "")[:500],
                )
        except InvalidValue as exc:
            flash(str(exc), "error")
            return self._back(default)
        flash(_("Matched: %(need)s → %(resource)s", need=str(need), resource=resource.name))
        return self._back(default)

    @expose("/release/", methods=("POST",))
    @requires(Permission.MATCH_NEED, Row(write=True))
    def release_view(self):
        match = self.row()
        default = url_for(".details_view", id=match.id)
        try:
            with committed():
                matching.release_match(match, user=current_user, note=request.form.get("note", ""))
        except InvalidValue as exc:
            flash(str(exc), "error")
            return self._back(default)
        flash(_("The match was released; the resource's capacity is back."))
        return self._back(default)


def need_list_url(**values) -> str:
    """The need list filtered by street / community / dimension / status, built from
    the need view's own filters (their URL names are positions in its filter list)."""
    admin = current_app.extensions["admin"][0]
    view = next(v for v in admin._views if getattr(v, "endpoint", None) == "need")
    columns = {
        "street_id": Need.street_id,
        "community_id": Need.community_id,
        "dimension": Need.dimension,
        "status": Need.status,
    }
    args, position = {}, 0
    for name, value in values.items():
        if value is None:
            continue
        for i, flt in enumerate(view._filters):
            if flt.column is columns[name]:
                args[f"flt{position}_{view.get_filter_arg(i, flt)}"] = value
                position += 1
                break
    return url_for("need.index_view", **args)


class UnmatchedNeedsView(GatedBaseView):
    """Open needs (not yet matched) counted per street (or community) and dimension."""

    @expose("/")
    @requires(Permission.SEE_UNMATCHED_NEEDS)
    def index(self):
        rows, by_street = matching.unmatched_needs_table(current_user)
        dimensions = c.NEED_DIMENSIONS
        key = "street_id" if by_street else "community_id"
        table = []
        for area, cells, total in rows:
            table.append(
                {
                    "area": area,
                    "total": total,
                    "total_url": need_list_url(**{key: area.id, "status": "open"}),
                    "cells": [
                        (
                            cells.get(value, 0),
                            need_list_url(**{key: area.id, "dimension": value, "status": "open"}),
                        )
                        for value, _label in dimensions
                    ],
                }
            )
        totals = [sum(r["cells"][i][0] for r in table) for i in range(len(dimensions))]
        return self.render(
            "admin/unmatched_needs.html",
            table=table,
            dimensions=dimensions,
            totals=totals,
            grand_total=sum(totals),
            by_street=by_street,
        )


def resource_capacity(_view, _context, model, _name):
    """ "used / capacity (left)" for the resource list."""
    used = f"{(model.used_quantity or 0):.2f}".rstrip("0").rstrip(".")
    if model.quantity is None:
        return _("%(used)s used, no limit", used=used)
    left = f"{model.remaining_quantity:.2f}".rstrip("0").rstrip(".")
    return _("%(used)s used, %(left)s left", used=used, left=left)
