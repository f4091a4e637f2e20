"""What the audit trail adds to every model view (``ScopedModelView`` inherits this):

- a 变更记录 (history) row at the end of each details page: the record's events, for
  anyone who may read the record (``services.audit.history``);
- 显示 (reveal) beside a masked ID number or phone on a details page: a POST to
  ``reveal/`` that records who saw which field and answers the full value (as JSON for
  ``static/yijia-reveal.js``, or the details page again with that field shown);
- the export's own record: who exported which list, filters, search, how many rows.
"""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from app import access
from app.access import Permission
from app.admin.gate import Row, requires
from app.models import choices as c
from app.models.audit import ACTION_LABELS
from app.services import audit
from app.validation import mask_id_number, mask_phone

HISTORY_COLUMN = "_audit_history"
#: fields no form shows, named in the history by what they are
TECHNICAL_FIELD_LABELS = {
    "id": _l("No."),
    "last_login_at": _l("Last login"),
    "password_hash": _l("Password"),
    "auth_version": _l("Sign-in version"),
    "failed_login_count": _l("Failed logins"),
}
#: stored names and checksums of files: that they changed is all a person needs
HIDDEN_VALUE_FIELDS = {"sha256", "stored_name", "thumbnail_name", "content_type", "password_hash"}


REVEAL_MASKS = {"id": mask_id_number, "phone": mask_phone}


def view_for_table(table: str | None):
    """The admin view that shows rows of ``table`` (its labels name their fields)."""
    if not table or not has_request_context():
        return None
    for view in current_app.extensions["admin"][0]._views:
        model = getattr(view, "model", None)
        if getattr(model, "__tablename__", None) == table and hasattr(view, "field_label"):
            return view
    return None


def _household_of(model):
    """The household whose personal data ``model`` is (a household, or a part of one)."""
    return model if model.__tablename__ == "households" else getattr(model, "household", None)


class AuditedViewMixin:
    #: False: no history row on this view's details pages (the audit log itself)
    shows_history = True
    #: a part's fields that only say which household (and area) it belongs to: on the
    #: household's own history they would repeat the page
    part_context_fields = frozenset({"household_id", "street_id", "community_id"})

    # ------------------------------------------------------------ history
    @property
    def _details_columns(self):
        columns = self.__dict__.get("_base_details_columns", [])
        # the sponsor portal's pages are not the office's: no trail there
        if self.shows_history and self.view_permission is not Permission.USE_SPONSOR_PORTAL:
            return [*columns, (HISTORY_COLUMN, _l("Change history"))]
        return columns

    @_details_columns.setter
    def _details_columns(self, value):
        self.__dict__["_base_details_columns"] = value

    def history_cell(self, _context, model, _name):
        entries = audit.history(model, current_user)
        if entries is None:
            return ""
        return Markup(
            render_template(
                "admin/audit/_history.html",
                entries=entries,
                view=self,
                c=c,
                action_labels=ACTION_LABELS,
            )
        )

    def history_source(self, entry):
        """The view whose labels name an entry's fields: this one, or for a part of a
        household shown on the household's history, the part's own view."""
        if not entry.is_part:
            return self
        return view_for_table(entry.event.record_type) or self

    def part_label(self, entry) -> str:
        """What a household's part is, for its events on the household's history:
        its kind by its view's name (家庭成员, 需求 ...) and which one."""
        source = view_for_table(entry.event.record_type)
        kind = str(source.name) if source is not None else str(_l("Other record"))
        part = entry.part
        if part is not None and type(part).__str__ is not object.__str__:
            return f"{kind} · {part}"
        return f"{kind} · {_l('No.')} {entry.event.record_id}"

    def field_label(self, field: str) -> str:
        """A recorded field by the label the panel gives it (``community_id`` is the
        community's label); a field the panel never shows by the catalog's word."""
        labels = self.column_labels or {}
        for name in (field, field.removesuffix("_id")):
            if name in labels:
                return str(labels[name])
        return str(TECHNICAL_FIELD_LABELS.get(field, _l("Other data")))

    def field_value(self, field: str, value) -> str:
        """A recorded value as the panel shows it: a choice by its label, yes/no as
        是/否, a technical value (file names, checksums) not at all."""
        if value is None or value == "":
            return "—"
        if field in HIDDEN_VALUE_FIELDS:
            return str(_l("(changed)"))
        if isinstance(value, bool):
            return str(_l("Yes") if value else _l("No"))
        options = self.choices.get(field)
        if options and not isinstance(value, list):
            return str(c.label(options, value))
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    # ------------------------------------------------------------- reveal
    def reveal_cell(self, mask):
        """The details formatter of a revealed kind (ID number, phone): the mask, and
        a 显示 button for those who may see the value."""

        def cell(view, _context, model, name):
            value = getattr(model, name)
            if name in g.get("revealed_fields", ()):
                return "" if value is None else value
            return view.reveal_control(model, name, mask=mask)

        return cell

    def reveal_control(self, model, field: str, *, mask=None, endpoint: str | None = None):
        """``model.field`` masked, with a 显示 button posting to the reveal route of
        the view at ``endpoint`` (this view by default; ``"member"`` for a member's ID
        number shown on its household's pages) for those who may see the value. The
        route decides again, and records the reveal."""
        value = getattr(model, field)
        if mask is None:
            mask = REVEAL_MASKS[audit.revealable_columns(type(model)).get(field, "id")]
        masked = mask(value)
        household = self.household_of(model) if endpoint is None else _household_of(model)
        if not value or not access.can_reveal_personal_data(household, current_user):
            return masked
        action = url_for(
            f"{endpoint or self.endpoint}.reveal_view", id=model.id, url=request.args.get("url")
        )
        return Markup(
            render_template("admin/audit/_reveal.html", action=action, field=field, masked=masked)
        )

    @expose("/reveal/", methods=("POST",))
    @requires(Permission.READ, Row())
    def reveal_view(self):
        """The full value of one personal field, recorded as a reveal."""
        record = self.row()
        field = request.form.get("field", "")
        if self.personal_columns.get(field) not in audit.REVEALABLE_KINDS:
            abort(404)
        value = audit.reveal(record, field, household=self.household_of(record), user=current_user)
        if value is None:
            abort(403)
        if request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
            "application/json"
        ):
            return jsonify(value=value)
        g.revealed_fields = {field}
        return self.details_view()

    # ------------------------------------------------------------- export
    def record_export(self, count) -> None:
        args = self._get_list_extra_args()
        filters = [(self._filters[idx].name, value) for idx, _name, value in (args.filters or [])]
        audit.record_export(
            view=self.endpoint,
            record_type=getattr(self.model, "__tablename__", None),
            filters=filters,
            search=args.search,
            rows=count,
        )
