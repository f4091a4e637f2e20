"""审计日志: the whole audit trail, for the district admin and the district manager
(``access.READ_ROLES[AuditEvent]``); read-only for everyone, exported as CSV."""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_request_context, url_for
from flask_admin.contrib.sqla.filters import DateTimeBetweenFilter, FilterEqual, IntEqualFilter
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import access
from app.admin.base import ScopedModelView
from app.admin.history import AuditedViewMixin, view_for_table
from app.admin.labels import COMMON_LABELS
from app.extensions import db
from app.models import Area, AuditEvent, User
from app.models import choices as c
from app.models.audit import ACTION_LABELS


def _user_options():
    if not has_request_context() or not current_user.is_authenticated:
        return []
    users = db.session.scalars(select(User).order_by(User.full_name))
    return [(str(u.id), f"{u.full_name}（{u.username}）") for u in users]


def _street_options():
    if not has_request_context() or not current_user.is_authenticated:
        return []
    stmt = access.visible(Area, current_user).where(Area.level == "street").order_by(Area.name)
    return [(str(a.id), a.name) for a in db.session.scalars(stmt)]


def record_types() -> list[tuple[str, str]]:
    """Each table by the name of its admin view (households → 困难家庭 ...)."""
    if not has_request_context():
        return []
    admin = current_app.extensions["admin"][0]
    seen: dict[str, str] = {}
    for view in admin._views:
        model = getattr(view, "model", None)
        if model is not None and model is not AuditEvent:
            seen.setdefault(model.__tablename__, str(view.name))
    return sorted(seen.items(), key=lambda kv: kv[1])


class AuditLogView(ScopedModelView):
    """Every recorded event, newest first; nothing here changes a row."""

    allow_create = False
    allow_edit = False
    allow_delete = False
    action_disallowed_list = ("delete",)
    shows_history = False
    export_types = ["csv"]
    can_view_details = True
    simple_list_pager = True  # no count(*) over millions of rows
    column_list = (
        "occurred_at",
        "user",
        "user_role",
        "action",
        "record_type",
        "record_id",
        "street",
        "changes",
        "source",
        "ip",
    )
    column_details_list = (
        "id",
        "occurred_at",
        "user",
        "user_role",
        "user_area_id",
        "action",
        "record_type",
        "record_id",
        "street",
        "changes",
        "detail",
        "source",
        "ip",
        "request_id",
    )
    column_export_list = (
        "id",
        "occurred_at",
        "user",
        "user_role",
        "action",
        "record_type",
        "record_id",
        "street",
        "changes",
        "detail",
        "source",
        "ip",
        "request_id",
    )
    #: newest first, ties (one save's rows) by id; every filter's index has this order
    column_default_sort = [("occurred_at", True), ("id", True)]
    column_sortable_list = ("occurred_at",)
    column_labels = {
        "occurred_at": _l("When"),
        "user": _l("Who"),
        "user_role": _l("Role"),
        "user_area_id": _l("Area of the user"),
        "action": _l("Action"),
        "record_type": _l("Record type"),
        "record_id": _l("Record No."),
        "changes": _l("Changes"),
        "detail": _l("Details"),
        "source": _l("From"),
        "ip": _l("Address"),
        "request_id": _l("Request"),
    }
    choices = {"user_role": c.ROLES, "action": ACTION_LABELS}

    @property
    def column_filters(self):
        return [
            IntEqualFilter(AuditEvent.user_id, _l("User"), options=_user_options),
            FilterEqual(AuditEvent.user_role, _l("Role"), options=c.ROLES),
            IntEqualFilter(AuditEvent.street_id, _l("Street"), options=_street_options),
            FilterEqual(AuditEvent.record_type, _l("Record type"), options=record_types),
            IntEqualFilter(AuditEvent.record_id, _l("Record No.")),
            FilterEqual(AuditEvent.action, _l("Action"), options=ACTION_LABELS),
            DateTimeBetweenFilter(AuditEvent.occurred_at, _l("When")),
        ]

    def eager(self, query):
        return query.options(selectinload(AuditEvent.user), selectinload(AuditEvent.street))

    def __init__(self, *args, **kwargs):
        formatters = {
            "user": AuditLogView._format_user,
            "record_type": AuditLogView._format_record_type,
            "changes": AuditLogView._format_changes,
        }
        self.column_formatters = formatters
        self.column_formatters_detail = dict(formatters)
        self.column_formatters_export = {
            "user": lambda _v, _c, m, _n: m.user.username if m.user else "",
            "changes": lambda _v, _c, m, _n: _changes_text(m.changes),
            "detail": lambda _v, _c, m, _n: _changes_text(m.detail),
        }
        super().__init__(*args, **kwargs)

    # ----------------------------------------------------------- cells
    def day_url(self, user_id: int, day: dt.date) -> str:
        """The list narrowed to one user's events on one day."""
        index = {type(f).__name__ + str(f.column): i for i, f in enumerate(self._filters)}
        user_filter = index[f"IntEqualFilter{AuditEvent.user_id}"]
        when_filter = index[f"DateTimeBetweenFilter{AuditEvent.occurred_at}"]
        return url_for(
            f"{self.endpoint}.index_view",
            **{
                f"flt0_{user_filter}": user_id,
                f"flt1_{when_filter}": f"{day:%Y-%m-%d} 00:00:00 to {day:%Y-%m-%d} 23:59:59",
            },
        )

    def _format_user(self, _context, model, _name):
        if model.user_id is None:
            return model.source or ""
        name = model.user.full_name if model.user else f"#{model.user_id}"
        title = _l("Everything this user did on this day")
        link = _l("that day")
        url = self.day_url(model.user_id, model.occurred_at.date())
        return Markup('{} <a class="small" href="{}" title="{}">{}</a>').format(
            name, url, title, link
        )

    def _format_record_type(self, _context, model, _name):
        if not model.record_type:
            return ""
        known = dict(record_types())
        return known.get(model.record_type) or str(
            OTHER_RECORD_TYPES.get(model.record_type, _l("Other record"))
        )

    def _format_changes(self, _context, model, _name):
        """Each field by its label in the record's own view, values as it shows them."""
        source = _view_of(model.record_type) or GENERIC_FIELDS
        detail = model.detail if isinstance(model.detail, dict) else {}
        if model.action == "reveal" and detail.get("field"):
            return source.field_label(detail["field"])  # which field was shown in full
        values = model.changes if isinstance(model.changes, dict) and model.changes else None
        values = values or (model.detail if isinstance(model.detail, dict) else None)
        if not values:
            return ""
        parts = []
        for field, pair in values.items():
            old, new = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
            parts.append(
                f"{source.field_label(field)}: "
                f"{source.field_value(field, old)} → {source.field_value(field, new)}"
            )
        return "; ".join(parts)[:300]


class _GenericFields(AuditedViewMixin):
    """Labels for rows no admin view shows (evidence files, plan payments ...)."""

    column_labels = COMMON_LABELS
    choices: dict = {"kind": c.EVIDENCE_KINDS}


GENERIC_FIELDS = _GenericFields()
#: tables no admin view lists, by what they hold
OTHER_RECORD_TYPES = {
    "stored_files": _l("Evidence file"),
    "fund_accounts": _l("Fund account"),
    "users": _l("User"),
}


def _view_of(record_type: str | None):
    """The admin view that shows rows of ``record_type`` (a table name)."""
    return view_for_table(record_type)


def _changes_text(values) -> str:
    if not values:
        return ""
    if isinstance(values, dict):
        parts = []
        for key, value in values.items():
            if isinstance(value, list) and len(value) == 2:
                parts.append(f"{key}: {value[0]} → {value[1]}")
            else:
                parts.append(f"{key}: {value}")
        return "; ".join(parts)
    return str(values)
