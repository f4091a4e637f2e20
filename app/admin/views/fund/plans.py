"""Support plans (the good-neighbour plan: 450 yuan a month) and their months: evidence,
check, pay. Rules: ``app/services/fund/plans.py``."""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms import (
    MultipleFileField,
)
from wtforms.validators import InputRequired

from app import access
from app.access import Permission
from app.admin import formatters as fmt
from app.admin import validators
from app.admin.base import ScopedModelView
from app.admin.filters import area_filters
from app.admin.gate import Row, requires
from app.admin.views.fund.common import (
    FUND_LABELS,
    may_post,
    posted_on_from,
)
from app.extensions import db
from app.models import (
    Household,
    PlanMonth,
    SupportPlan,
)
from app.models import choices as c
from app.services import fund
from app.validation import InvalidValue


class SupportPlanView(ScopedModelView):
    """Recurring support such as the good-neighbour plan. Clerks (and the district
    administrator) keep plans; community workers read them. Saving a plan makes one
    month row per month (``fund.sync_plan_months``)."""

    personal_columns = {"payee_phone": "phone"}
    choices = {"status": c.SUPPORT_PLAN_STATUSES}
    column_labels = FUND_LABELS
    column_list = (
        "id",
        "name",
        "household",
        "payee_name",
        "payee_phone",
        "monthly_amount",
        "unit_amount",
        "unit",
        "starts_on",
        "ends_on",
        "status",
        "community",
    )
    column_details_list = (
        "id",
        "name",
        "household",
        "project",
        "payee_organisation",
        "payee_person",
        "payee_phone",
        "description",
        "monthly_amount",
        "unit_amount",
        "unit",
        "starts_on",
        "ends_on",
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
        "household",
        "payee_name",
        "payee_phone",
        "monthly_amount",
        "unit_amount",
        "unit",
        "starts_on",
        "ends_on",
        "status",
        "street",
        "community",
    )
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "name", "starts_on", "status")
    column_searchable_list = ("name",)
    money_columns = ("monthly_amount", "unit_amount")
    column_formatters = {
        "starts_on": fmt.month,
        "ends_on": fmt.month,
    }
    form_columns = (
        "name",
        "household",
        "project",
        "payee_organisation",
        "payee_person",
        "payee_phone",
        "description",
        "monthly_amount",
        "unit_amount",
        "unit",
        "starts_on",
        "ends_on",
        "status",
        "agreement_files",
    )
    form_extra_fields = {"agreement_files": MultipleFileField(_l("Three-party agreement"))}
    form_args = {
        "payee_phone": {"validators": [validators.phone]},
        "monthly_amount": {"validators": [InputRequired(), validators.money]},
        "unit_amount": {"validators": [validators.money]},
        "starts_on": {"validators": [InputRequired()]},
        "ends_on": {"validators": [InputRequired()]},
    }
    form_ajax_refs = {"household": {"fields": ("head_name",), "placeholder": _l("Type a name")}}
    details_template = "admin/fund/support_plan_details.html"

    @property
    def column_filters(self):
        return area_filters(SupportPlan) + [
            FilterEqual(SupportPlan.status, _l("Status"), options=c.SUPPORT_PLAN_STATUSES)
        ]

    def eager(self, query):
        return query.options(
            selectinload(SupportPlan.household).selectinload(Household.community),
            selectinload(SupportPlan.payee_organisation),
            selectinload(SupportPlan.community),
            selectinload(SupportPlan.street),
        )

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        fund.sync_plan_months(model)
        fund.attach_files(
            request.files.getlist("agreement_files"), kind="agreement", support_plan=model
        )

    def on_model_delete(self, model):
        super().on_model_delete(model)
        fund.check_plan_deletable(model)

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs["month_statuses"] = c.PLAN_MONTH_STATUSES
            kwargs["label"] = c.label
        return super().render(template, **kwargs)


class PlanMonthView(ScopedModelView):
    """One month of a support plan. Months are made by their plan; they change only
    through the evidence upload, the clerk's check and the administrator's payment
    on the details page (each a service in ``app/services/fund.py``)."""

    allow_create = allow_edit = allow_delete = False
    choices = {"status": c.PLAN_MONTH_STATUSES}
    column_labels = FUND_LABELS
    column_list = (
        "id",
        "plan",
        "household",
        "month",
        "units",
        "status",
        "is_evidence_accepted",
        "community",
    )
    column_details_list = (
        "id",
        "plan",
        "household",
        "month",
        "units",
        "status",
        "is_evidence_accepted",
        "check_note",
        "checked_at",
        "checked_by",
        "street",
        "community",
    )
    column_export_list = (
        "id",
        "plan",
        "household",
        "month",
        "units",
        "status",
        "is_evidence_accepted",
        "check_note",
        "street",
        "community",
    )
    column_default_sort = [("month", True), ("id", True)]
    column_sortable_list = ("id", "month", "status")
    column_formatters = {
        "month": fmt.month,
        "is_evidence_accepted": fmt.tick,
        "checked_at": fmt.minute,
    }
    column_formatters_export = {"month": fmt.month}
    details_template = "admin/fund/plan_month_details.html"

    @property
    def column_filters(self):
        return area_filters(PlanMonth) + [
            FilterEqual(PlanMonth.status, _l("Status"), options=c.PLAN_MONTH_STATUSES)
        ]

    def eager(self, query):
        return query.options(
            selectinload(PlanMonth.plan),
            selectinload(PlanMonth.household).selectinload(Household.community),
            selectinload(PlanMonth.community),
            selectinload(PlanMonth.street),
        )

    def is_action_allowed(self, name: str) -> bool:
        return False

    def render(self, template, **kwargs):
        month = kwargs.get("model")
        if template == self.details_template and month is not None:
            kwargs.update(
                may_upload=access.can_write_row(month, current_user)
                and month.status not in ("checked", "paid"),
                may_check=access.can_write_row(month.plan, current_user)
                and month.status not in ("checked", "paid"),
                may_pay=may_post() and month.status == "checked" and month.payment is None,
                amount_due=fund.month_amount(month),
                today=dt.date.today(),
            )
        return super().render(template, **kwargs)

    def _done(self, month, message):
        flash(message, "success")
        return redirect(url_for(".details_view", id=month.id))

    def _refused(self, month, exc):
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".details_view", id=month.id))

    @expose("/evidence/", methods=("POST",))
    @requires(Permission.UPLOAD_PLAN_EVIDENCE, Row(write=True))
    def evidence_view(self):
        month = self.row()
        raw_units = (request.form.get("units") or "").strip()
        try:
            if raw_units and not (
                raw_units.isascii() and raw_units.isdigit() and len(raw_units) < 6
            ):
                raise InvalidValue(_l("Enter the number of units delivered (0 to 1000)."))
            fund.upload_month_evidence(
                month,
                user=current_user,
                photos=request.files.getlist("photos"),
                menus=request.files.getlist("menus"),
                units=int(raw_units) if raw_units else None,
            )
        except InvalidValue as exc:
            return self._refused(month, exc)
        return self._done(month, _("The evidence was saved."))

    @expose("/check/", methods=("POST",))
    @requires(Permission.CHECK_PLAN_MONTH, Row(write=True))
    def check_view(self):
        month = self.row()
        try:
            fund.check_month(
                month,
                user=current_user,
                accept=request.form.get("decision") == "accept",
                note=request.form.get("note"),
            )
        except InvalidValue as exc:
            return self._refused(month, exc)
        return self._done(month, _("The check was recorded."))

    @expose("/pay/", methods=("POST",))
    @requires(Permission.PAY_PLAN_MONTH, Row(write=True))
    def pay_view(self):
        month = self.row()
        try:
            fund.pay_plan_month(
                month,
                user=current_user,
                posted_on=posted_on_from(request.form.get("posted_on")),
                receipt_number=request.form.get("receipt_number"),
                files=request.files.getlist("files"),
            )
        except InvalidValue as exc:
            return self._refused(month, exc)
        return self._done(month, _("The month was paid."))
