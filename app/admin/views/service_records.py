"""Service records (服务记录) with their evidence files."""

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import DateBetweenFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import String, cast, or_
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, MultipleFileField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app import access
from app.access import Permission
from app.admin import validators
from app.admin.base import ScopedAjaxLoader, ScopedModelView
from app.admin.filters import area_filters
from app.admin.gate import Row, requires
from app.extensions import db
from app.models import Household, Need, ServiceRecord, StoredFile
from app.models import choices as c
from app.services import casework_records
from app.services.transaction import committed
from app.validation import InvalidValue


class NeedAjaxLoader(ScopedAjaxLoader):
    """Needs to pick for a service record: searched by description or head of
    household, labelled with the household so the right one is chosen."""

    def format(self, model):
        if model is None:
            return None
        head = model.household.head_name if model.household else ""
        return model.id, f"{head} · {c.label(c.NEED_CATEGORIES, model.category)} · {model}"

    def search(self, pattern: str):
        query = (
            self.get_query()
            .join(Household, Household.id == Need.household_id)
            .filter(
                or_(
                    cast(Need.description, String).ilike(pattern, escape="\\"),
                    Household.head_name.ilike(pattern, escape="\\"),
                )
            )
            .options(selectinload(Need.household))
        )
        return query.order_by(Need.id.desc())


#: the file chooser of evidence inputs: what app/services/files.py accepts, as types and
#: as endings (a phone offers its camera and gallery for types, not for endings alone)
EVIDENCE_ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"


def _only_valid_choices(_form, field):
    """Ajax multi-selects drop ids they cannot find (out of scope) silently; refuse."""
    field.data  # noqa: B018 - resolving the ids marks unknown ones
    if getattr(field, "_invalid_formdata", False):
        raise ValidationError(_l("Choose only needs within your area."))


def _known_choice(_form, field):
    """A drop-down silently empties an id it does not offer (out of scope); refuse."""
    raw = (field.raw_data or [""])[0]
    if raw not in ("", "__None") and field.data is None:
        raise ValidationError(_l("Choose one of the records offered (within your area)."))


def _format_needs(_view, _context, model, _name):
    return Markup(
        "<br>".join(
            f'<a href="{escape(url_for("need.details_view", id=n.id))}">{escape(str(n))}</a>'
            for n in model.needs
        )
    )


class ServiceRecordView(ScopedModelView):
    """Help delivered to a household, proven by photos, receipts, agreements, menus."""

    personal_columns = {"provider_phone": "phone"}
    money_columns = ("amount_yuan",)
    column_list = (
        "id",
        "delivered_on",
        "household",
        "description",
        "needs",
        "resource",
        "project",
        "provider_name",
        "provider_phone",
        "quantity",
        "unit",
        "amount_yuan",
        "file_count",
        "community",
    )
    column_details_list = (
        "id",
        "household",
        "delivered_on",
        "description",
        "needs",
        "resource",
        "project",
        "provider_organisation",
        "provider_person",
        "provider_phone",
        "quantity",
        "unit",
        "amount_yuan",
        "street",
        "community",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    )
    column_export_list = (
        "id",
        "delivered_on",
        "household",
        "description",
        "resource",
        "project",
        "provider_name",
        "provider_phone",
        "quantity",
        "unit",
        "amount_yuan",
        "file_count",
        "street",
        "community",
    )
    column_default_sort = ("delivered_on", True)
    column_sortable_list = ("id", "delivered_on", "amount_yuan")
    column_searchable_list = ("description", "provider_person")
    column_labels = {
        "delivered_on": _l("Delivered on"),
        "description": _l("What was done"),
        "needs": _l("Needs served"),
        "resource": _l("Resource"),
        "project": _l("Project"),
        "amount_yuan": _l("Amount (yuan)"),
        "file_count": _l("Evidence files"),
        "provider_name": _l("Provider"),
        "provider_organisation": _l("Provider organisation"),
    }
    form_columns = (
        "household",
        "needs",
        "delivered_on",
        "description",
        "resource",
        "project",
        "provider_organisation",
        "provider_person",
        "provider_phone",
        "quantity",
        "unit",
        "amount_yuan",
        "mark_needs_met",
        "evidence_photos",
        "evidence_files",
        "evidence_kind",
        "evidence_caption",
    )
    form_extra_fields = {
        "mark_needs_met": BooleanField(
            _l("The needs served are now met"),
            description=_l("Marks every need chosen above as met on the delivery date."),
        ),
        # on a phone: straight to the camera (a home visit's photos)
        "evidence_photos": MultipleFileField(
            _l("Take photos"),
            render_kw={"accept": "image/*", "capture": "environment", "multiple": True},
        ),
        "evidence_files": MultipleFileField(
            _l("Evidence files"),
            description=_l("Photos (JPEG, PNG, WebP) or PDF, at most 10 MB each."),
            # types as well as endings, so that phones offer the camera and the gallery
            render_kw={"accept": EVIDENCE_ACCEPT, "multiple": True},
        ),
        "evidence_kind": SelectField(
            _l("Kind of evidence"),
            choices=c.EVIDENCE_KINDS,
            default="photo",
            validators=[Optional()],
        ),
        "evidence_caption": StringField(_l("Caption"), validators=[Optional(), Length(max=200)]),
    }
    form_args = {
        "household": {"validators": [DataRequired()]},
        "needs": {"validators": [_only_valid_choices]},
        "delivered_on": {"validators": [DataRequired(), validators.not_future]},
        "description": {"validators": [DataRequired()]},
        "resource": {"validators": [_known_choice]},
        "project": {"validators": [_known_choice]},
        "provider_organisation": {"validators": [_known_choice]},
        "provider_phone": {"validators": [validators.phone]},
        "quantity": {"validators": [validators.money]},
        "amount_yuan": {"validators": [validators.money]},
    }
    form_ajax_refs = {
        "household": {"fields": ("head_name",), "placeholder": _l("Type a name")},
        "needs": {"fields": ("description",), "placeholder": _l("Type a need or a name")},
    }
    details_template = "admin/service_record_details.html"

    column_formatters = {
        "needs": _format_needs,
        "file_count": lambda _v, _c, m, _n: len(m.files),
    }

    @property
    def column_filters(self):
        return area_filters(ServiceRecord) + [
            DateBetweenFilter(ServiceRecord.delivered_on, _l("Delivered on"))
        ]

    def eager(self, query):
        return query.options(
            selectinload(ServiceRecord.household).selectinload(Household.community),
            selectinload(ServiceRecord.needs),
            selectinload(ServiceRecord.resource),
            selectinload(ServiceRecord.project),
            selectinload(ServiceRecord.provider_organisation),
            selectinload(ServiceRecord.files),
            selectinload(ServiceRecord.community),
            selectinload(ServiceRecord.street),
        )

    def _create_ajax_loader(self, name, options):
        if name == "needs":
            return NeedAjaxLoader(name, db, Need, **options)
        return super()._create_ajax_loader(name, options)

    def household_of(self, model):
        return model.household

    # ---------------------------------------------------------------- saving
    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        casework_records.complete_service_record(
            model,
            user=current_user,
            evidence=request.files.getlist("evidence_photos")
            + request.files.getlist("evidence_files"),
            evidence_kind=form.evidence_kind.data or "photo",
            evidence_caption=(form.evidence_caption.data or "").strip() or None,
            mark_needs_met=bool(form.mark_needs_met.data),
        )

    # ---------------------------------------------------------------- files
    @staticmethod
    def evidence_kind_label(kind) -> str:
        return c.label(c.EVIDENCE_KINDS, kind)

    def may_change_files(self, record) -> bool:
        return self._may_write() and access.can_write_row(record, current_user)

    def _writable_file(self):
        """The file the gate loaded, if it is a service record's (else 404)."""
        stored = self.row("file_id")
        if stored.service_record_id is None:
            abort(404)
        return stored

    @expose("/file/share/", methods=("POST",))
    @requires(Permission.MANAGE_EVIDENCE, Row(StoredFile, "file_id", write=True))
    def share_file_view(self):
        """Mark a photo as shareable with the project's sponsors (or not)."""
        stored = self._writable_file()
        record_id = stored.service_record_id
        try:
            with committed():
                casework_records.set_file_shareable(
                    stored, user=current_user, is_shareable=request.form.get("shareable") == "1"
                )
        except InvalidValue as exc:
            flash(str(exc), "error")
        else:
            flash(
                _("The photo may now be shown to the project's sponsors.")
                if stored.is_shareable
                else _("The photo is no longer shown to sponsors.")
            )
        return redirect(url_for(".details_view", id=record_id))

    @expose("/file/delete/", methods=("POST",))
    @requires(Permission.MANAGE_EVIDENCE, Row(StoredFile, "file_id", write=True))
    def delete_file_view(self):
        stored = self._writable_file()
        record_id, name = stored.service_record_id, stored.original_name
        try:
            with committed():
                casework_records.remove_file(stored, user=current_user)
        except InvalidValue as exc:
            flash(str(exc), "error")
        else:
            flash(_("The file %(name)s was deleted.", name=name))
        return redirect(url_for(".details_view", id=record_id))
