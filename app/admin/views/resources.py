"""Organisations and the resource list."""

from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.admin import validators
from app.admin.base import ScopedModelView
from app.admin.filters import area_filters
from app.admin.views.matching import resource_capacity
from app.models import Organisation, Resource
from app.models import choices as c
from app.services.matching import check_capacity_change


class OrganisationView(ScopedModelView):
    choices = {"kind": c.ORGANISATION_KINDS}
    personal_columns = {"contact_phone": "phone"}
    column_list = ("id", "name", "kind", "contact_person", "contact_phone", "street", "is_active")
    column_details_list = (
        "id",
        "name",
        "kind",
        "contact_person",
        "contact_phone",
        "address",
        "street",
        "notes",
        "is_active",
        "created_at",
        "updated_at",
    )
    column_export_list = (
        "id",
        "name",
        "kind",
        "contact_person",
        "contact_phone",
        "address",
        "street",
        "is_active",
    )
    column_default_sort = ("name", False)
    column_searchable_list = ("name", "contact_person")
    form_columns = (
        "name",
        "kind",
        "contact_person",
        "contact_phone",
        "address",
        "street",
        "notes",
        "is_active",
    )
    form_args = {"contact_phone": {"validators": [validators.phone]}}

    column_filters = [
        FilterEqual(Organisation.kind, _l("Kind"), options=c.ORGANISATION_KINDS),
        BooleanEqualFilter(Organisation.is_active, _l("Active")),
    ] + area_filters(Organisation)[:1]

    def eager(self, query):
        return query.options(selectinload(Organisation.street))

    def household_of(self, model):
        return None  # contact phones are shown in full only on the edit form


class ResourceView(ScopedModelView):
    money_columns = ("value_yuan",)
    choices = {
        "kind": c.RESOURCE_KINDS,
        "category": c.NEED_CATEGORIES,
        "status": c.RESOURCE_STATUSES,
    }
    personal_columns = {"provider_phone": "phone"}
    column_list = (
        "id",
        "name",
        "kind",
        "category",
        "provider_name",
        "value_yuan",
        "quantity",
        "capacity",
        "unit",
        "available_from",
        "available_until",
        "status",
        "street",
        "community",
    )
    column_details_list = (
        "id",
        "name",
        "kind",
        "provider_organisation",
        "provider_person",
        "provider_phone",
        "category",
        "description",
        "quantity",
        "capacity",
        "unit",
        "value_yuan",
        "served_areas",
        "available_from",
        "available_until",
        "status",
        "street",
        "community",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    )
    column_export_list = (
        "id",
        "name",
        "kind",
        "category",
        "provider_name",
        "description",
        "quantity",
        "used_quantity",
        "unit",
        "value_yuan",
        "available_from",
        "available_until",
        "status",
        "street",
        "community",
    )
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "name", "kind", "value_yuan", "available_from", "status")
    column_searchable_list = ("name", "description", "provider_person")
    form_columns = (
        "name",
        "kind",
        "category",
        "provider_organisation",
        "provider_person",
        "provider_phone",
        "description",
        "quantity",
        "unit",
        "value_yuan",
        "served_areas",
        "available_from",
        "available_until",
        "status",
        "street",
        "community",
    )
    form_args = {
        "provider_phone": {"validators": [validators.phone]},
        "value_yuan": {"validators": [validators.money]},
        "quantity": {"validators": [validators.money]},
    }

    column_labels = {"capacity": _l("Used / left"), "used_quantity": _l("In use")}
    column_formatters = {"capacity": resource_capacity}
    details_template = "admin/resource_details.html"

    column_filters = area_filters(Resource) + [
        FilterEqual(Resource.kind, _l("Kind"), options=c.RESOURCE_KINDS),
        FilterEqual(Resource.category, _l("Category"), options=c.NEED_CATEGORIES),
        FilterEqual(Resource.status, _l("Status"), options=c.RESOURCE_STATUSES),
    ]

    def eager(self, query):
        return query.options(
            selectinload(Resource.provider_organisation),
            selectinload(Resource.street),
            selectinload(Resource.community),
            selectinload(Resource.served_areas),
        )

    def household_of(self, model):
        return None

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        check_capacity_change(model)
