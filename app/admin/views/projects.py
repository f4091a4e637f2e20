"""Aid projects: the staff view, and the sponsors' portal of de-identified projects."""

from flask_admin.contrib.sqla.filters import FilterEqual, FloatGreaterFilter, FloatSmallerFilter
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.admin import validators
from app.admin.base import ScopedModelView
from app.admin.filters import area_filters
from app.admin.scoping import STAFF
from app.models import Project
from app.models import choices as c

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


class ProjectView(_ProjectViewBase):
    roles = STAFF
    column_list = (
        "id",
        "name",
        "level",
        "help_kind",
        "budget",
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
        "status",
        "starts_on",
        "ends_on",
        "street",
        "community",
        "beneficiaries",
        "sponsors",
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


class SponsorProjectView(_ProjectViewBase):
    """What an enterprise or social organisation sees: projects open for sponsorship
    and those it supports, described without anything that points at a household."""

    roles = ("sponsor",)
    allow_create = allow_edit = allow_delete = allow_export = False
    column_list = (
        "name",
        "level",
        "help_kind",
        "budget",
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
    column_labels = {"public_summary": _l("About this project")}
