"""Casework: home-visit assessments, the case-status history and the to-do list.

The rules are in ``app/services/casework.py`` and ``app/services/todo.py``; these
views hold configuration and call them.
"""

import datetime as dt

from flask import flash, request
from flask_admin import expose
from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice, SelectField
from wtforms.validators import DataRequired

from app import access
from app.access import Permission
from app.admin import validators
from app.admin.base import GatedBaseView, ScopedModelView
from app.admin.filters import area_filters
from app.admin.gate import requires
from app.admin.labels import COMMON_LABELS
from app.extensions import db
from app.models import Assessment, CaseTransition, Household, Need
from app.models import choices as c
from app.services import casework, todo
from app.validation import parse_id

SEVERITY_LABELS = {
    f"severity_{value}": _l("Severity: %(dimension)s", dimension=label)
    for value, label in c.NEED_DIMENSIONS
}
CASEWORK_LABELS = {
    "visit_date": _l("Visit date"),
    "visiting_worker": _l("Visiting worker"),
    "findings": _l("Findings"),
    "living_conditions": _l("Living conditions"),
    "benefits_found": _l("Benefits already received"),
    "from_status": _l("From status"),
    "to_status": _l("To status"),
    "note": _l("Note"),
    "occurred_at": _l("When"),
    "actor": _l("By"),
    **SEVERITY_LABELS,
}


def _severity(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SeverityField(SelectField):
    """Severity 1–5, starting blank so that the worker chooses each one."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.pop("coerce", None)
        kwargs["choices"] = [SelectChoice("", "—")] + [SelectChoice(i, str(i)) for i in range(1, 6)]
        super().__init__(label, validators, coerce=_severity, **kwargs)


class NeedInline(InlineFormAdmin):
    """Needs noted on the visit; they belong to the visited household."""

    form_columns = ("id", "dimension", "category", "description", "urgency")
    form_choices = {
        "dimension": c.NEED_DIMENSIONS,
        "category": c.NEED_CATEGORIES,
        "urgency": c.URGENCIES,
    }
    form_args = {"description": {"validators": [DataRequired()]}}
    column_labels = {name: COMMON_LABELS[name] for name in form_columns if name != "id"}


class AssessmentView(ScopedModelView):
    """Home-visit assessments (入户评估). New ones go through
    ``casework.record_assessment`` (which also moves a registered case to assessed)."""

    allow_delete = False  # part of the case history; correct it by editing
    personal_columns = {
        "findings": "hidden",
        "benefits_found": "hidden",
        "living_conditions": "hidden",
    }
    form_overrides = dict.fromkeys(casework.SEVERITY_COLUMNS, SeverityField)
    column_labels = CASEWORK_LABELS
    column_list = (
        "id",
        "household",
        "visit_date",
        "visiting_worker",
        *casework.SEVERITY_COLUMNS,
        "community",
    )
    column_details_list = (
        "id",
        "household",
        "visit_date",
        "visiting_worker",
        "findings",
        *casework.SEVERITY_COLUMNS,
        "living_conditions",
        "benefits_found",
        "needs",
        "street",
        "community",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    )
    column_export_list = (
        "id",
        "household",
        "visit_date",
        "visiting_worker",
        *casework.SEVERITY_COLUMNS,
        "street",
        "community",
    )
    column_default_sort = ("visit_date", True)
    column_sortable_list = ("id", "visit_date")
    form_columns = (
        "household",
        "visit_date",
        "visiting_worker",
        "findings",
        *casework.SEVERITY_COLUMNS,
        "living_conditions",
        "benefits_found",
    )
    form_args = {
        "household": {"validators": [DataRequired()]},
        "visit_date": {"validators": [DataRequired(), validators.not_future]},
        "findings": {"validators": [DataRequired()]},
        "visiting_worker": {"query_factory": lambda: access.assignable_workers(current_user)},
        **{name: {"validators": [DataRequired()]} for name in casework.SEVERITY_COLUMNS},
    }
    form_ajax_refs = {"household": {"fields": ("head_name",), "placeholder": _l("Type a name")}}
    inline_models = (NeedInline(Need),)

    @property
    def column_filters(self):
        return area_filters(Assessment) + [
            DateBetweenFilter(Assessment.visit_date, _l("Visit date"))
        ]

    def eager(self, query):
        return query.options(
            selectinload(Assessment.household).selectinload(Household.community),
            selectinload(Assessment.visiting_worker),
            selectinload(Assessment.community),
            selectinload(Assessment.street),
        )

    def _format_needs(self, _context, model, _name):
        return "; ".join(
            f"{c.label(c.NEED_DIMENSIONS, n.dimension)} · {n.description[:40]}" for n in model.needs
        )

    def __init__(self, *args, **kwargs):
        self.column_formatters_detail = {"needs": AssessmentView._format_needs}
        super().__init__(*args, **kwargs)

    def create_form(self, obj=None):
        form = super().create_form(obj)
        household_id = parse_id(request.args.get("household_id"))
        if request.method == "GET" and household_id is not None:
            household = (
                access.readable(Household, current_user)
                .filter(Household.id == household_id)
                .one_or_none()
            )
            if household is not None:
                form.household.data = household
        if request.method == "GET" and form.visit_date.data is None:
            form.visit_date.data = dt.date.today()
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        del form.household  # a visit stays with the household visited
        return form

    def create_model(self, form):
        """One path for every new assessment: ``casework.record_assessment``."""
        try:
            needs = [
                {
                    "dimension": entry.form.dimension.data,
                    "category": entry.form.category.data,
                    "description": entry.form.description.data,
                    "urgency": entry.form.urgency.data,
                }
                for entry in form.needs.entries
                if not form.needs.should_delete(entry)
            ]
            assessment = casework.record_assessment(
                form.household.data,
                user=current_user,
                visit_date=form.visit_date.data,
                findings=form.findings.data,
                severities={
                    value: getattr(form, f"severity_{value}").data
                    for value in c.values(c.NEED_DIMENSIONS)
                },
                visiting_worker=form.visiting_worker.data,
                living_conditions=form.living_conditions.data,
                benefits_found=form.benefits_found.data,
                needs=needs,
            )
            db.session.commit()
        except Exception as exc:
            self.handle_view_exception(exc)
            db.session.rollback()
            return False
        self.after_model_change(form, assessment, True)
        return assessment

    def on_model_change(self, form, model, is_created):
        # the visit date is checked against intake by the model, on every save
        # edit: needs added on the form belong to the visited household
        for need in model.needs:
            if need.household is None and need.household_id is None:
                need.household = model.household
                need.identified_on = model.visit_date
        super().on_model_change(form, model, is_created)


class CaseTransitionView(ScopedModelView):
    """The case-status history: read-only, written by ``casework.transition_case``."""

    allow_create = allow_edit = allow_delete = False
    choices = {"from_status": c.HOUSEHOLD_STATUSES, "to_status": c.HOUSEHOLD_STATUSES}
    column_labels = CASEWORK_LABELS
    column_list = (
        "id",
        "household",
        "from_status",
        "to_status",
        "note",
        "occurred_at",
        "actor",
        "community",
    )
    column_details_list = (
        "id",
        "household",
        "from_status",
        "to_status",
        "note",
        "occurred_at",
        "actor",
        "street",
        "community",
    )
    column_export_list = column_details_list
    column_default_sort = ("occurred_at", True)
    column_sortable_list = ("id", "occurred_at", "to_status")

    @property
    def column_filters(self):
        return area_filters(CaseTransition) + [
            FilterEqual(CaseTransition.to_status, _l("To status"), options=c.HOUSEHOLD_STATUSES),
            DateBetweenFilter(CaseTransition.occurred_at, _l("When")),
        ]

    def eager(self, query):
        return query.options(
            selectinload(CaseTransition.household).selectinload(Household.community),
            selectinload(CaseTransition.actor),
            selectinload(CaseTransition.community),
            selectinload(CaseTransition.street),
        )

    def household_of(self, model):
        return model.household


class TodoView(GatedBaseView):
    """待办: home visits due and overdue needs (and what other modules add)."""

    @expose("/")
    @requires(Permission.SEE_TODO)
    def index(self):
        only_mine = request.args.get("mine") == "1"
        items = todo.todo_items(current_user, only_mine=only_mine, limit=todo.PAGE_LIMIT)
        if not items and only_mine:
            flash(_("Nothing to do among the households assigned to you."), "info")
        summary = todo.todo_summary(current_user, only_mine=only_mine)
        return self.render(
            "admin/todo.html",
            items=items,
            only_mine=only_mine,
            total=summary["total"],
            overdue=summary["overdue"],
            summary=summary,
            page_limit=todo.PAGE_LIMIT,
        )
