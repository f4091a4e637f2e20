"""Aid projects: the staff view, and the sponsors' portal of de-identified projects
(where sponsors pledge: ``app/services/sponsorship.py``)."""

from flask import flash, has_request_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import (
    FilterEqual,
    FloatGreaterFilter,
    FloatSmallerFilter,
    IntEqualFilter,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import access
from app.access import Permission
from app.admin import validators
from app.admin.base import ScopedModelView
from app.admin.filters import area_filters
from app.admin.gate import Row, requires
from app.extensions import db
from app.models import Area, Project
from app.models import choices as c
from app.services import sponsorship
from app.validation import InvalidValue, format_yuan

PLEDGE_COLUMN_LABELS = {
    "pledged_total": _l("Pledged (yuan)"),
    "remaining_budget": _l("Still open (yuan)"),
    "pledges": _l("Pledges"),
}

PROJECT_CHOICES = {
    "level": c.PROJECT_LEVELS,
    "help_kind": c.HELP_KINDS,
    "status": c.PROJECT_STATUSES,
}


def _project_filters():
    return area_filters(Project) + [
        FilterEqual(Project.level, _l("Level"), options=c.PROJECT_LEVELS),
        FilterEqual(Project.help_kind, _l("Kind of help"), options=c.HELP_KINDS),
        FilterEqual(Project.status, _l("Status"), options=c.PROJECT_STATUSES),
        FloatGreaterFilter(Project.budget, _l("Budget (yuan)")),
        FloatSmallerFilter(Project.budget, _l("Budget (yuan)")),
    ]


class _ProjectViewBase(ScopedModelView):
    """What both project views share: vocabularies, filters, eager loading."""

    choices = PROJECT_CHOICES
    money_columns = ("budget", "pledged_total", "remaining_budget")
    column_filters = _project_filters()

    def eager(self, query):
        # beneficiaries are counted in SQL (``beneficiary_count``), never loaded here
        return query.options(
            selectinload(Project.street),
            selectinload(Project.community),
            selectinload(Project.sponsors),
        )

    def household_of(self, model):
        return None


def _format_pledges(_view, _context, model, _name):
    """Staff see every pledge on the project: sponsor, amount, status."""
    return Markup(
        "<br>".join(
            f'<a href="{url_for("pledge.details_view", id=p.id)}">'
            f"{escape(p.organisation.name)} · {format_yuan(p.amount_yuan)} · "
            f"{escape(c.label(c.PLEDGE_STATUSES, p.status))}</a>"
            for p in model.pledges
        )
    )


class ProjectView(_ProjectViewBase):
    view_permission = Permission.SEE_STAFF_PROJECTS
    column_labels = PLEDGE_COLUMN_LABELS
    column_formatters_detail = {"pledges": _format_pledges}
    column_list = (
        "id",
        "name",
        "level",
        "help_kind",
        "budget",
        "pledged_total",
        "remaining_budget",
        "status",
        "street",
        "community",
        "beneficiary_count",
        "sponsors",
    )
    column_details_list = (
        "id",
        "name",
        "level",
        "help_kind",
        "description",
        "public_summary",
        "budget",
        "pledged_total",
        "remaining_budget",
        "status",
        "starts_on",
        "ends_on",
        "street",
        "community",
        "beneficiaries",
        "sponsors",
        "pledges",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    )
    column_export_list = (
        "id",
        "name",
        "level",
        "help_kind",
        "budget",
        "pledged_total",
        "remaining_budget",
        "status",
        "street",
        "community",
        "beneficiary_count",
        "sponsors",
        "starts_on",
        "ends_on",
    )
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "name", "budget", "status", "starts_on")
    column_searchable_list = ("name",)
    form_columns = (
        "name",
        "level",
        "help_kind",
        "description",
        "public_summary",
        "budget",
        "status",
        "starts_on",
        "ends_on",
        "street",
        "community",
        "beneficiaries",
        "sponsors",
    )
    form_args = {"budget": {"validators": [validators.money]}}
    form_ajax_refs = {"beneficiaries": {"fields": ("head_name",), "placeholder": _l("Type a name")}}


def _sponsor_area_options(column):
    """Streets (or communities) of the projects this sponsor may see, per request."""

    def options():
        if not has_request_context() or not current_user.is_authenticated:
            return []
        ids = access.visible(Project, current_user, select(column))
        stmt = select(Area).where(Area.id.in_(ids)).order_by(Area.parent_id, Area.name)
        return [(str(a.id), a.full_name) for a in db.session.scalars(stmt)]

    return options


class SponsorProjectView(_ProjectViewBase):
    """What an enterprise or social organisation sees: projects open for sponsorship
    and those it supports, described without anything that points at a household.
    A project's page carries the pledge form while the project is open."""

    view_permission = Permission.USE_SPONSOR_PORTAL
    allow_create = allow_edit = allow_delete = allow_export = False
    column_filters = [
        IntEqualFilter(
            Project.street_id, _l("Street"), options=_sponsor_area_options(Project.street_id)
        ),
        IntEqualFilter(
            Project.community_id,
            _l("Community"),
            options=_sponsor_area_options(Project.community_id),
        ),
        FilterEqual(Project.help_kind, _l("Kind of help"), options=c.HELP_KINDS),
        FilterEqual(Project.level, _l("Level"), options=c.PROJECT_LEVELS),
        FilterEqual(Project.status, _l("Status"), options=c.PROJECT_STATUSES),
        FloatGreaterFilter(Project.budget, _l("Budget (yuan)")),
        FloatSmallerFilter(Project.budget, _l("Budget (yuan)")),
    ]
    column_list = (
        "name",
        "level",
        "help_kind",
        "budget",
        "pledged_total",
        "remaining_budget",
        "status",
        "street",
        "community",
        "beneficiary_count",
    )
    column_details_list = (
        "name",
        "level",
        "help_kind",
        "public_summary",
        "budget",
        "pledged_total",
        "remaining_budget",
        "status",
        "starts_on",
        "ends_on",
        "street",
        "community",
        "beneficiary_count",
        "sponsors",
    )
    column_default_sort = ("id", True)
    column_sortable_list = ("name", "budget", "status")
    column_searchable_list = ("name", "public_summary")
    column_labels = {"public_summary": _l("About this project"), **PLEDGE_COLUMN_LABELS}
    details_template = "admin/sponsor_project_details.html"

    def pledge_status_label(self, status: str) -> str:
        return c.label(c.PLEDGE_STATUSES, status)

    def details_context(self, project):
        from app.admin.views.pledges import sponsor_details_context

        return sponsor_details_context(project)

    @expose("/pledge/", methods=("POST",))
    @requires(Permission.USE_SPONSOR_PORTAL, Row(Project))
    def pledge(self):
        """Pledge money or in-kind support to an open project (the form on its page)."""
        project = self.row()
        try:
            sponsorship.pledge(
                project,
                organisation=current_user.organisation,
                user=current_user,
                amount=request.form.get("amount", "").strip(),
                kind=request.form.get("kind", "money"),
                in_kind_description=request.form.get("in_kind_description"),
                note=request.form.get("note"),
            )
        except InvalidValue as exc:
            flash(str(exc), "error")
            return redirect(url_for(".details_view", id=project.id))
        flash(_("Thank you: your pledge awaits the street office's approval."), "success")
        return redirect(url_for("sponsor_pledge.index_view"))
