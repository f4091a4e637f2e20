"""The base view that every admin view inherits: access, row scope, personal-data
masking, choices, safe errors and Excel-safe exports. Views built on it hold
configuration only."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections import OrderedDict
from functools import partial
from urllib.parse import quote

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    stream_with_context,
)
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.babel import lazy_gettext as admin_lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from sqlalchemy import Integer, String, cast, or_, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from wtforms.validators import ValidationError

from app import access
from app.access import Permission
from app.admin.formatters import install_display_formatters
from app.admin.gate import GatedView, Requirement, Row, requires
from app.admin.history import HISTORY_COLUMN, AuditedViewMixin
from app.admin.labels import COMMON_LABELS
from app.admin.listing import EditableCells, RowActionsOnce, RowCells
from app.errors import report_unexpected
from app.extensions import db
from app.models import ArchivableMixin, Area, area_tree
from app.services import archive, counting
from app.validation import HIDDEN, InvalidValue, escape_like, mask_id_number, mask_phone, parse_id

log = logging.getLogger(__name__)

#: rows fetched at a time by an export
EXPORT_BATCH = 1000
MASKERS = {"id": mask_id_number, "phone": mask_phone, "hidden": lambda v: HIDDEN if v else ""}
#: a run of digits no 64-bit integer column holds
TOO_LONG_NUMBER = re.compile(r"\d{19,}")
WRITE_ENDPOINT_SUFFIXES = (".edit_view", ".delete_view", ".ajax_update", ".action_view")
#: the routes that list rows: archived ones leave them unless the filter asks for them
LIST_ENDPOINT_SUFFIXES = (".index_view", ".export")


def excel_safe(value) -> str:
    """A cell value that Excel shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    if text and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class ArchivedFilter(BaseSQLAFilter):
    """The list filter that brings archived rows back into a list (they leave it by
    default: ``ScopedModelView.get_query``): with the others, or alone."""

    def __init__(self, column, name):
        super().__init__(
            column,
            name,
            options=(("include", _l("Show archived too")), ("only", _l("Archived only"))),
        )

    def apply(self, query, value, alias=None):
        if value == "only":
            return query.filter(self.get_column(alias).is_not(None))
        return query

    def operation(self):
        return _l("show")


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """Ajax look-ups (``form_ajax_refs``) through the same scope as the views, with a
    capped page size and literal search terms."""

    max_limit = 20

    def get_query(self):
        return access.readable(self.model, current_user)

    def get_one(self, pk):
        # by id, archived rows too: a record's existing value must still load and save
        pk = parse_id(pk)
        if pk is None:
            return None
        with db.session.no_autoflush:
            query = access.readable(self.model, current_user, include_archived=True)
            return query.filter(self.model.id == pk).one_or_none()

    def get_list(self, term, offset=0, limit=10):
        pattern = "%" + escape_like((term or "").strip())[:50] + "%"
        limit = max(1, min(int(limit or 10), self.max_limit))
        offset = min(max(0, int(offset or 0)), 10_000)
        return self.search(pattern).offset(offset).limit(limit).all()

    def search(self, pattern: str):
        """Rows matching a LIKE ``pattern`` (already escaped), in order; loaders that
        search other columns override this, not the paging above."""
        query = self.get_query().filter(
            or_(*(cast(f, String).ilike(pattern, escape="\\") for f in self._cached_fields))
        )
        return query.order_by(self.model.id)


class ScopedModelView(AuditedViewMixin, GatedView, ModelView):
    """Every admin model view inherits this: the gate (``app/admin/gate.py``) decides
    who may use each route; this class narrows every query to the user's rows."""

    #: set False in a view to forbid these operations for everyone
    allow_create = True
    allow_edit = True
    allow_delete = True
    allow_export = True
    #: column → masker ("id", "phone", "hidden"): masked in lists and exports for
    #: everyone, and on details pages for anyone who may not edit the household
    personal_columns: dict[str, str] = {}
    #: column → [(value, label)]: drop-down in forms, label in lists and filters
    choices: dict = {}
    page_size = 20
    can_set_page_size = True
    page_size_options = (20, 50, 100)
    can_view_details = True
    #: eager loading is explicit, in each view's ``eager()``
    column_auto_select_related = False
    export_types = ["csv", "xlsx"]
    #: exported as numbers (amounts), not as Excel-safe text
    numeric_export_columns: tuple[str, ...] = ()
    #: amounts: ``¥38,900.00`` aligned right in lists and details, numbers in exports
    #: (``app/admin/formatters.py``)
    money_columns: tuple[str, ...] = ()
    details_modal = False
    edit_modal = False
    #: the list, with its total under the pager (exact, or 约 N with an exact count a
    #: click away: ``services/counting.py``); views with their own list extend this one
    list_template = "admin/model/yj_list.html"

    def __init__(self, model, *args, **kwargs):
        self.column_labels = {**COMMON_LABELS, **(self.column_labels or {})}
        self.column_choices = {**(self.column_choices or {}), **self.choices}
        self.form_choices = {**(self.form_choices or {}), **self.choices}
        self.form_args = {**(self.form_args or {})}
        for name, options in self.choices.items():
            if options and isinstance(options[0][0], int):
                self.form_args.setdefault(name, {})["coerce"] = lambda v: int(v) if v else None
        self._install_personal_formatters()
        self._install_area_labels(model)
        install_display_formatters(self)
        self._install_scoped_choices(model)
        super().__init__(model, db, *args, **kwargs)

    def _run_view(self, fn, *args, **kwargs):
        # Flask-Admin retries a view that raised TypeError with other arguments,
        # which hides the real error; call the view once.
        return fn(self, *args, **kwargs)

    # ------------------------------------------------------------------ access
    #: the built-in routes of Flask-Admin's model views, declared for the gate
    requirements = {
        "index_view": Requirement(Permission.READ),
        "details_view": Requirement(Permission.READ, (Row(required=False),)),
        "create_view": Requirement(Permission.WRITE, switches=("can_create",)),
        "edit_view": Requirement(
            Permission.WRITE, (Row(write=True, required=False),), switches=("can_edit",)
        ),
        "delete_view": Requirement(Permission.WRITE, (Row(write=True),), switches=("can_delete",)),
        "ajax_update": Requirement(
            Permission.WRITE, (Row(field="list_form_pk", write=True),), switches=("can_edit",)
        ),
        # each action is gated again by ``is_action_allowed``
        "action_view": Requirement(Permission.WRITE),
        "export": Requirement(Permission.READ, switches=("can_export",)),
        # look-ups of the view's forms; the loader reads through the user's scope
        "ajax_lookup": Requirement(Permission.READ),
    }
    index_route = "index_view"

    @property
    def can_create(self) -> bool:
        return self.allow_create and self._may_write()

    @property
    def can_edit(self) -> bool:
        return self.allow_edit and self._may_write()

    @property
    def can_delete(self) -> bool:
        """Archivable records are deleted only as mistakes, by the district admin
        (``services.archive.hard_delete``); the others as before."""
        if self.is_archivable and not (
            current_user.is_authenticated
            and access.can(current_user, Permission.HARD_DELETE_RECORD)
        ):
            return False
        return self.allow_delete and self._may_write()

    @property
    def can_export(self) -> bool:
        return self.allow_export and current_user.is_authenticated and current_user.is_staff

    def _may_write(self) -> bool:
        """Does the user's role change rows of this model (somewhere)?"""
        return current_user.is_authenticated and self.holds(Requirement(Permission.WRITE))

    # ------------------------------------------------------------------- rows
    def _is_write_request(self) -> bool:
        endpoint = request.endpoint or ""
        return request.method != "GET" or endpoint.endswith(WRITE_ENDPOINT_SUFFIXES)

    def scope_criterion(self):
        scope = access.scope_of(current_user)
        if self._is_write_request():
            return access.write_criterion(self.model, scope)
        return access.read_criterion(self.model, scope)

    def get_query(self):
        return self.eager(super().get_query().filter(self.scope_criterion(), self.list_criterion()))

    def get_count_query(self):
        return super().get_count_query().filter(self.scope_criterion(), self.list_criterion())

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """Flask-Admin's list, with a total that is estimated above a threshold
        (``services/counting.py``) and the page's rows fetched by id after the ids alone
        were paged (a deferred join): ``ORDER BY id DESC OFFSET 10000 LIMIT 20`` over ids
        is an index-only scan of ``(street_id, id)``; over whole rows it reads 10,020
        rows from the table."""
        joins: dict = {}
        count_joins: dict = {}
        query = self.get_query()
        count_query = self.get_count_query() if not self.simple_list_pager else None
        if self._search_supported and search:
            query, count_query, joins, count_joins = self._apply_search(
                query, count_query, joins, count_joins, search
            )
        if filters and self._filters:
            query, count_query, joins, count_joins = self._apply_filters(
                query, count_query, joins, count_joins, filters
            )
        count = None
        if count_query is not None:
            searched = self._search_supported and search
            count = (counting.count_matches if searched else counting.count_rows)(count_query)
        query, joins = self._apply_sorting(query, joins, sort_column, sort_desc)
        query = self._apply_pagination(query, page, page_size)
        if not execute:
            return count, query
        ids = [pk for (pk,) in query.with_entities(self.model.id)]
        if not ids:
            return count, []
        rows_query = self.list_eager(db.session.query(self.model).filter(self.model.id.in_(ids)))
        for join in self._auto_joins:
            rows_query = rows_query.options(joinedload(join))
        rows = rows_query.all()
        position = {pk: i for i, pk in enumerate(ids)}
        rows.sort(key=lambda row: position[row.id])
        return count, rows

    # ---------------------------------------------------------------- archive
    @property
    def is_archivable(self) -> bool:
        return isinstance(self.model, type) and issubclass(self.model, ArchivableMixin)

    def list_criterion(self):
        """Lists and exports leave archived rows out, unless the "archived" filter is
        on; a record's own page (details, edit, archive, restore) still finds it."""
        endpoint = request.endpoint or ""
        if not endpoint.endswith(LIST_ENDPOINT_SUFFIXES) or self._shows_archived():
            return true()
        return access.active_criterion(self.model)

    def _shows_archived(self) -> bool:
        filters = ModelView._get_list_filter_args(self) or []
        return any(isinstance(self._filters[idx], ArchivedFilter) for idx, _n, _v in filters)

    def get_filters(self):
        filters = list(super().get_filters() or [])
        if self.is_archivable:
            filters.append(ArchivedFilter(self.model.archived_at, _l("Archived")))
        return filters or None

    def _back_to(self, record):
        if record is not None and self.can_view_details:
            return redirect(self.get_url(".details_view", id=record.id))
        return redirect(self.get_url(".index_view"))

    @expose("/archive/", methods=("POST",))
    @requires(Permission.WRITE, Row(write=True))
    def archive_view(self):
        """Archive the record with the reason the form gives (``services.archive``)."""
        record = self.row()
        if not self.is_archivable:
            abort(404)
        try:
            archive.archive(record, current_user, request.form.get("reason"))
        except InvalidValue as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("The record was archived; it no longer appears in lists."), "success")
        return self._back_to(record)

    @expose("/restore/", methods=("POST",))
    @requires(Permission.RESTORE_RECORD, Row(write=True))
    def restore_view(self):
        record = self.row()
        if not self.is_archivable:
            abort(404)
        try:
            archive.restore(record, current_user)
        except InvalidValue as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("The record was restored."), "success")
        return self._back_to(record)

    def archive_panel(self, record) -> dict | None:
        """What the details page's archive box shows (None: no box)."""
        if not self.is_archivable or record is None:
            return None
        may_write = access.can_write_row(record, current_user) and access.may_write(
            self.model, current_user
        )
        return {
            "record": record,
            "can_archive": may_write and not record.is_archived,
            "can_restore": record.is_archived
            and may_write
            and access.can(current_user, Permission.RESTORE_RECORD),
            "archive_url": self.get_url(".archive_view"),
            "restore_url": self.get_url(".restore_view"),
        }

    def render(self, template, **kwargs):
        if "model" in kwargs and request.endpoint and request.endpoint.endswith(".details_view"):
            kwargs.setdefault("archive_panel", self.archive_panel(kwargs["model"]))
        if "list_row_actions" in kwargs:  # the list (app/admin/listing.py)
            kwargs["row_actions_once"] = RowActionsOnce.for_view(self, kwargs["list_row_actions"])
            kwargs["editable_cells"] = EditableCells.for_view(self)
            kwargs["row_cells"] = RowCells.for_view(
                self, kwargs["list_columns"], kwargs["editable_cells"]
            )
            kwargs["select_record_title"] = admin_gettext("Select record")
        # the templates are read without their indentation (app/templating.py)
        return super().render(template, **kwargs)

    def lean_editable_cells(self) -> bool:
        """Does the list draw its editable cells once a page (``EditableCells``)? Yes
        for integer keys and fields whose cell depends on the shown value only."""
        if not self.column_editable_list or not isinstance(self._primary_key, str):
            return False
        if not isinstance(getattr(self.model, self._primary_key).type, Integer):
            return False
        fields = self._list_form_class
        return all(
            getattr(fields, c).field_class.__name__ != "BooleanField"
            for c in self.column_editable_list
        )

    def list_form(self, obj=None):
        """No form per row for the list page when its editable cells are drawn once
        (Flask-Admin's ``index_view`` builds one for each row); the inline save
        (``ajax/update/``) still validates with the real form."""
        if (
            obj is not None
            and request.method == "GET"
            and request.endpoint == f"{self.endpoint}.index_view"
            and self.lean_editable_cells()
        ):
            return None
        return super().list_form(obj)

    def list_eager(self, query):
        """The eager loads of a list page's rows (fetched by id, 20 at a time): the
        view's ``eager`` unless it has a cheaper way for a page."""
        return self.eager(query)

    def eager(self, query):
        """Hook for views to eager-load what their list shows (no N+1)."""
        return query

    def get_one(self, id):
        """One row by id, through the scope; anything but a plain integer id is None.
        A page (GET) asks once: the gate loads the record, then Flask-Admin's view asks
        for it again (the details page read each household twice)."""
        pk = parse_id(id)
        if pk is None:
            return None
        if request.method != "GET":
            return self.get_query().filter(self.model.id == pk).one_or_none()
        found = g.setdefault("_yj_rows", {})
        key = (self.endpoint, pk)
        if key not in found:
            found[key] = self.get_query().filter(self.model.id == pk).one_or_none()
        return found[key]

    def is_action_allowed(self, name: str) -> bool:
        if not self._may_write():
            return False
        if name == "archive":
            return self.is_archivable and self.allow_delete
        return super().is_action_allowed(name)

    def _selected(self, ids):
        # Ids arrive as strings; PostgreSQL will not compare them with integer keys.
        pks = [pk for pk in map(parse_id, ids) if pk is not None]
        return self.get_query().filter(self.model.id.in_(pks)).all() if pks else []

    @action(
        "archive",
        _l("Archive"),
        _l("Archive the selected records? They leave the lists; write the reason first."),
    )
    def action_archive(self, ids):
        """Archive each selected record with the reason typed beside the action menu;
        refusals are reported one by one, the rest are archived."""
        self._each(ids, lambda row: archive.archive(row, current_user, request.form.get("reason")))

    @action(
        "delete",
        admin_lazy_gettext("Delete"),
        admin_lazy_gettext("Are you sure you want to delete selected records?"),
    )
    def action_delete(self, ids):
        if not self.is_archivable:
            return super().action_delete([pk for pk in map(parse_id, ids) if pk is not None])
        self._each(ids, lambda row: self._delete_archivable(row))

    def _each(self, ids, do) -> None:
        done, refused = 0, []
        for row in self._selected(ids):
            label = str(row)
            try:
                do(row)
            except InvalidValue as exc:
                db.session.rollback()
                refused.append(f"{label}: {exc}")
            else:
                done += 1
        if done:
            flash(_("%(count)s records done.", count=done), "success")
        for line in refused:
            flash(line, "error")

    def _delete_archivable(self, row) -> None:
        self.on_model_delete(row)
        archive.hard_delete(row, current_user)

    def delete_model(self, model) -> bool:
        """Archivable records: through ``services.archive.hard_delete`` (refused with
        history, or for anyone but the district admin); others: Flask-Admin's own."""
        if not self.is_archivable:
            return super().delete_model(model)
        try:
            self._delete_archivable(model)
        except InvalidValue as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return False
        self.after_model_delete(model)
        return True

    def handle_action(self, return_view=None):
        if request.form.get("action") and not self.is_action_allowed(request.form["action"]):
            abort(403)
        return super().handle_action(return_view)

    # ------------------------------------------------------------ saving
    def on_model_change(self, form, model, is_created):
        if not access.can_write_row(model, current_user):
            raise InvalidValue(_l("You can only save records within your own area."))
        if not is_created and getattr(model, "is_archived", False):
            raise InvalidValue(
                _l("This record is archived and is not changed; the district admin can restore it.")
            )
        super().on_model_change(form, model, is_created)

    def on_model_delete(self, model):
        if not access.can_write_row(model, current_user):
            raise InvalidValue(_l("You can only delete records within your own area."))

    def handle_view_exception(self, exc: Exception) -> bool:
        """Clear messages for refused input and conflicts; anything else is a bug:
        raised in tests, logged with a reference in production (never SQL, parameters
        or a stack trace on the page)."""
        db.session.rollback()
        if isinstance(exc, InvalidValue | ValidationError):
            flash(str(exc), "error")
        elif isinstance(exc, IntegrityError):
            log.warning("integrity error in %s: %s", self.endpoint, type(exc.orig).__name__)
            flash(
                _(
                    "This record conflicts with another one (for example a duplicate). Nothing was saved."
                ),
                "error",
            )
        else:
            reference = report_unexpected(log, self.endpoint, exc)
            flash(
                _(
                    "Something went wrong and nothing was saved. Error reference: %(ref)s.",
                    ref=reference,
                ),
                "error",
            )
        return True

    # --------------------------------------------------------- forms
    def _install_scoped_choices(self, model) -> None:
        """Every relationship drop-down offers only rows the user may read, and a
        street/community field only areas inside the user's own."""
        mapper = db.inspect(model)
        for rel in mapper.relationships:
            if rel.key in (self.form_ajax_refs or {}) or rel.direction.name == "ONETOMANY":
                continue  # ajax fields have their own scoped loader; one-to-many are inline
            if rel.viewonly:
                continue
            target = rel.mapper.class_
            args = self.form_args.setdefault(rel.key, {})
            # WTForms shows an option without a label by its value, "__None"
            args.setdefault("blank_text", "—")
            if rel.key in ("street", "community") and target is Area:
                factory = partial(access.areas_within, rel.key, current_user)
            else:
                factory = partial(access.readable, target, current_user)
            args.setdefault("query_factory", factory)

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form._obj = obj  # lets validators tell "this record" from "another one"
        if obj is not None:
            self._keep_current_choices(form, obj)
        return form

    def _keep_current_choices(self, form, obj) -> None:
        """A drop-down offers rows in use, plus what the record already has (an
        archived organisation that referred a household still shows, and saving the
        form unchanged keeps it)."""
        for field in form:
            factory = getattr(field, "query_factory", None)
            if not (isinstance(factory, partial) and factory.func is access.readable):
                continue
            current = getattr(obj, field.name, None)
            keep = current if isinstance(current, list) else [current]
            field.query = access.readable(factory.args[0], current_user, keep=keep)

    def _create_ajax_loader(self, name, options):
        attr = getattr(self.model, name)
        return ScopedAjaxLoader(name, db, attr.prop.mapper.class_, **options)

    # ---------------------------------------------------- personal data
    def _install_personal_formatters(self) -> None:
        list_fmt = dict(self.column_formatters or {})
        detail_fmt = dict(self.column_formatters_detail or list_fmt)
        export_fmt = dict(self.column_formatters_export or {})
        for column, kind in self.personal_columns.items():
            mask = MASKERS[kind]

            def masked(_view, _context, model, name, mask=mask):
                return mask(getattr(model, name))

            def revealed(view, _context, model, name, mask=mask):
                value = getattr(model, name)
                if access.can_reveal_personal_data(view.household_of(model), current_user):
                    return "" if value is None else value
                return mask(value)

            list_fmt[column] = masked
            export_fmt[column] = masked
            detail_fmt[column] = revealed
            if kind in ("id", "phone"):  # audit trail: masked until 显示, recorded
                detail_fmt[column] = self.reveal_cell(mask)
        # audit trail: the 变更记录 row of every details page
        detail_fmt[HISTORY_COLUMN] = lambda view, ctx, model, name: view.history_cell(
            ctx, model, name
        )
        self.column_formatters = list_fmt
        self.column_formatters_detail = detail_fmt
        self.column_formatters_export = export_fmt

    #: the area columns a list and an export print from the kept area tree
    #: (``app/models/area_tree.py``) by the row's ``street_id`` / ``community_id``
    AREA_COLUMNS = ("street", "community")

    def _install_area_labels(self, model) -> None:
        """A row's street and community read from the kept area tree, so a list needs
        neither their Area rows nor a query for them (views need not eager-load them)."""
        list_fmt = dict(self.column_formatters or {})
        export_fmt = dict(self.column_formatters_export or {})
        for name in self.AREA_COLUMNS:
            if not hasattr(model, f"{name}_id"):
                continue

            def label(_view, _context, row, _name, key=f"{name}_id"):
                return area_tree.tree().label(getattr(row, key))

            list_fmt.setdefault(name, label)
            export_fmt.setdefault(name, label)
        self.column_formatters = list_fmt
        self.column_formatters_export = export_fmt

    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        """Flask-Admin's cell value, with a choice's label translated once per request:
        its own code asks each row's lazy label for its truth and again for its HTML,
        two catalogue look-ups a cell, some eighty on a list page."""
        labels = self._column_choices_map.get(name)
        if not labels:
            return super()._get_list_value(
                context, model, name, column_formatters, column_type_formatters
            )
        column_fmt = column_formatters.get(name)
        if column_fmt is not None:
            value = column_fmt(self, context, model, name)
        else:
            value = self._get_field_value(model, name)
        return self._translated_choices(name).get(value) or value

    def _translated_choices(self, name) -> dict:
        cache = g.setdefault("_yj_choice_labels", {})
        key = (id(self), name)
        if key not in cache:
            cache[key] = {k: str(v) for k, v in self._column_choices_map[name].items()}
        return cache[key]

    def household_of(self, model):
        """The household whose personal data ``model`` carries (views override)."""
        return getattr(model, "household", None)

    # ------------------------------------------------ list arguments
    #: deeper than this is a request no person makes (400, not a scan of the table)
    max_page = 100_000

    def _get_list_extra_args(self):
        """Page, page size and search as a person could have asked for them: a page
        out of range is a bad request, a page size not offered is the default."""
        args = super()._get_list_extra_args()
        if not 0 <= (args.page or 0) <= self.max_page:
            abort(400)
        page_size = args.page_size if args.page_size in self.page_size_options else 0
        search = (args.search or "").strip()[:100] or None
        return args.clone(page=args.page or 0, page_size=page_size, search=search)

    def _get_list_filter_args(self):
        """Filter values a database can compare: a number past 64 bits is refused with
        the filter's own message, not sent to PostgreSQL to overflow."""
        filters = super()._get_list_filter_args()
        if not filters:
            return filters
        kept = []
        for idx, name, value in filters:
            if TOO_LONG_NUMBER.search(str(value)):
                flash(self.get_invalid_value_msg(value, self._filters[idx]), "error")
            else:
                kept.append((idx, name, value))
        return kept

    # ----------------------------------------------------------- filters
    def _get_filter_groups(self):
        """Filter option lists built per request, so nobody sees another area's names."""
        if not self._filters:
            return None
        groups: OrderedDict[str, list] = OrderedDict()
        for i, flt in enumerate(self._filters):
            options = flt.get_options(self)
            groups.setdefault(str(flt.name), []).append(
                {
                    "index": i,
                    "arg": self.get_filter_arg(i, flt),
                    "operation": str(flt.operation()),
                    "options": [(k, str(v)) for k, v in options] if options else None,
                    "type": flt.data_type,
                }
            )
        return groups

    # ------------------------------------------------------------ export
    def get_export_name(self, export_type="csv"):
        return f"{self.name}_{dt.date.today():%Y%m%d}.{export_type}"

    @property
    def export_max_rows(self):  # noqa: D401 - Flask-Admin attribute
        return current_app.config["EXPORT_MAX_ROWS"]

    def _export_rows(self):
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        count, query = self.get_list(
            0,
            sort[0] if sort else None,
            view_args.sort_desc,
            view_args.search,
            view_args.filters,
            execute=False,
            page_size=self.export_max_rows,
        )
        # streamed in batches: a 100,000-row export held every row at once (600 MB)
        return count, query.yield_per(EXPORT_BATCH)

    def export_cell(self, row, name):
        """One exported cell: a number for amounts, Excel-safe text otherwise."""
        if name in self.numeric_export_columns:
            return getattr(row, name)
        return excel_safe(self._export_text(self.get_export_value(row, name)))

    def _export_text(self, value):
        """A choice's label is translated once per export, not once per row (the same
        lazy string object comes back for every row with that value)."""
        if not isinstance(value, LazyString):
            return value
        cache = g.setdefault("_yj_export_labels", {})
        key = id(value)
        if key not in cache:
            cache[key] = (value, str(value))  # the object too: its id stays its own
        return cache[key][1]

    def _export_matrix(self):
        """Header and rows of display values, masked, Excel-safe."""
        count, query = self._export_rows()
        if count is None or count <= self.export_max_rows:
            self.record_export(count)  # audit trail: who exported what
        header = [str(label) for _name, label in self._export_columns]

        def rows():
            try:
                for row in query:
                    yield [self.export_cell(row, name) for name, _label in self._export_columns]
            finally:
                # the rows stream from an open result of the session that built the
                # query: give its connection back now (also when a download is cut
                # off), not at garbage collection, or a burst of exports drains the pool
                query.session.close()

        return count, header, rows()

    def _attachment(self, filename: str) -> str:
        ascii_name = filename.encode("ascii", "ignore").decode() or "export"
        return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"

    def _too_many_to_export(self, count) -> bool:
        if count is not None and count > self.export_max_rows:
            flash(
                _(
                    "Too many rows to export (%(count)s); narrow the list with filters first.",
                    count=count,
                ),
                "error",
            )
            return True
        return False

    def _export_csv(self, return_url):
        count, header, rows = self._export_matrix()
        if self._too_many_to_export(count):
            return redirect(return_url)

        def generate():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            try:
                yield "\ufeff"  # BOM: Excel then reads UTF-8 Chinese correctly
                writer.writerow(header)
                for row in rows:
                    writer.writerow(row)
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
                yield buffer.getvalue()
            finally:
                rows.close()

        return Response(
            stream_with_context(generate()),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": self._attachment(self.get_export_name("csv"))},
        )

    def _export_tablib(self, export_type, return_url):
        if export_type != "xlsx":
            abort(404)
        from openpyxl import Workbook

        count, header, rows = self._export_matrix()
        if self._too_many_to_export(count):
            return redirect(return_url)
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=str(self.name)[:31])
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        workbook.save(out)
        return Response(
            out.getvalue(),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": self._attachment(self.get_export_name("xlsx"))},
        )

    @expose("/export/<export_type>/")
    def export(self, export_type):
        if export_type not in self.export_types:
            abort(404)
        return super().export(export_type)


class GatedBaseView(GatedView, BaseView):
    """A page that is not a model list (to-do, overviews, reports): its routes are
    declared with ``@requires`` like every other."""
