"""The special fund: its read-only ledger (posting through the fund's own forms), the
support plans and their months, the overview and the anomalies page. Every rule is
in ``app/services/fund.py``; these views collect input, call it and show the result.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms import (
    DateField,
    Form,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app import access
from app.admin import formatters as fmt
from app.admin import validators
from app.admin.base import ScopedModelView
from app.admin.filters import area_filters
from app.extensions import db
from app.models import (
    Household,
    LedgerEntry,
    Organisation,
    PlanMonth,
    Pledge,
    Project,
    SupportPlan,
)
from app.models import choices as c
from app.services import fund
from app.validation import MAX_ID, InvalidValue, parse_id

FUND_LABELS = {
    "posted_on": _l("Date"),
    "posted_at": _l("Posted at"),
    "posted_by": _l("Posted by"),
    "entry_type": _l("Entry type"),
    "direction": _l("Direction"),
    "amount_yuan": _l("Amount (yuan)"),
    "signed_amount": _l("Signed amount (yuan)"),
    "receipt_number": _l("Receipt or voucher number"),
    "purpose": _l("Purpose"),
    "counterparty": _l("Donor or payee"),
    "donor_organisation": _l("Donor organisation"),
    "donor_name": _l("Donor (person)"),
    "payee_organisation": _l("Payee organisation"),
    "payee_person": _l("Payee (person)"),
    "payee_phone": _l("Payee phone"),
    "payee_name": _l("Payee"),
    "pledge": _l("Pledge"),
    "project": _l("Project"),
    "plan_month": _l("Support-plan month"),
    "reverses": _l("Reverses entry"),
    "reversed_by": _l("Reversed by entry"),
    "files": _l("Evidence"),
    "plan": _l("Support plan"),
    "month": _l("Month"),
    "units": _l("Units delivered"),
    "monthly_amount": _l("Monthly amount (yuan)"),
    "unit_amount": _l("Amount per unit (yuan)"),
    "is_evidence_accepted": _l("Evidence accepted"),
    "check_note": _l("Check note"),
    "checked_at": _l("Checked at"),
    "checked_by": _l("Checked by"),
    "payment": _l("Payment"),
    "months": _l("Months"),
    "agreement_files": _l("Three-party agreement"),
}


def _int_or_none(value):
    """A drop-down's id, or None for "none chosen"; anything else is an invalid choice
    (refused by the form), never quietly "none"."""
    if value in (None, "", "None"):
        return None
    pk = parse_id(value)
    if pk is None:
        raise ValueError("not an id")
    return pk


def _may_post() -> bool:
    return current_user.is_authenticated and access.may_write(LedgerEntry, current_user)


# ----------------------------------------------------------------- the ledger
class DonationForm(Form):
    amount = StringField(_l("Amount (yuan)"), validators=[InputRequired()])
    posted_on = DateField(_l("Date on the receipt"), validators=[InputRequired()])
    receipt_number = StringField(_l("Receipt number"), validators=[InputRequired(), Length(max=40)])
    donor_organisation = SelectField(_l("Donor organisation"), coerce=_int_or_none)
    donor_name = StringField(_l("Donor (person)"), validators=[Optional(), Length(max=60)])
    pledge = SelectField(_l("Settles the pledge"), coerce=_int_or_none)
    project = SelectField(_l("Earmarked for the project"), coerce=_int_or_none)
    purpose = TextAreaField(_l("Purpose"), validators=[Optional(), Length(max=500)])
    files = MultipleFileField(_l("Receipt (photo or PDF)"))


class DisbursementForm(Form):
    amount = StringField(_l("Amount (yuan)"), validators=[InputRequired()])
    posted_on = DateField(_l("Date of the payment order"), validators=[InputRequired()])
    purpose = TextAreaField(_l("Purpose"), validators=[InputRequired(), Length(max=500)])
    project = SelectField(_l("Project"), coerce=_int_or_none)
    household = IntegerField(
        _l("Household No."), validators=[Optional(), NumberRange(min=1, max=MAX_ID)]
    )
    payee_organisation = SelectField(_l("Payee organisation"), coerce=_int_or_none)
    payee_person = StringField(_l("Payee (person)"), validators=[Optional(), Length(max=40)])
    receipt_number = StringField(
        _l("Receipt or voucher number"), validators=[Optional(), Length(max=40)]
    )
    files = MultipleFileField(_l("Evidence (invoices, receipts, photos)"))


def _options(query, label=str):
    return [(None, "—")] + [(row.id, label(row)) for row in query]


def _pick(model, value):
    """The row ``value`` names, if the user may read it; a missing one is an error."""
    if value is None:
        return None
    row = db.session.scalar(access.visible(model, current_user).where(model.id == value))
    if row is None:
        raise InvalidValue(_l("Choose a record within your own area."))
    return row


class LedgerView(ScopedModelView):
    """The special fund's ledger. Read-only: no create, edit, inline edit, delete or
    bulk delete for anyone; the district administrator posts through the donation,
    disbursement and reversal forms, which call ``app/services/fund.py``."""

    allow_create = allow_edit = allow_delete = False
    action_disallowed_list = ["delete"]
    choices = {"entry_type": c.LEDGER_ENTRY_TYPES, "direction": c.LEDGER_DIRECTIONS}
    column_labels = FUND_LABELS
    column_list = (
        "id",
        "posted_on",
        "entry_type",
        "direction",
        "amount_yuan",
        "counterparty",
        "purpose",
        "project",
        "household",
        "receipt_number",
        "street",
    )
    column_details_list = (
        "id",
        "posted_on",
        "entry_type",
        "direction",
        "amount_yuan",
        "receipt_number",
        "purpose",
        "donor_organisation",
        "donor_name",
        "pledge",
        "project",
        "household",
        "payee_organisation",
        "payee_person",
        "plan_month",
        "reverses",
        "reversed_by",
        "street",
        "community",
        "posted_at",
        "posted_by",
    )
    column_export_list = (
        "id",
        "posted_on",
        "entry_type",
        "direction",
        "amount_yuan",
        "signed_amount",
        "receipt_number",
        "counterparty",
        "purpose",
        "project",
        "household",
        "reverses",
        "street",
        "community",
        "posted_by",
        "posted_at",
    )
    #: exported as numbers (a number cannot carry a formula), not as text
    numeric_export_columns = ("amount_yuan", "signed_amount")
    column_default_sort = [("posted_on", True), ("id", True)]
    column_sortable_list = ("id", "posted_on", "entry_type", "amount_yuan")
    column_searchable_list = ("purpose", "receipt_number", "donor_name", "payee_person")
    column_formatters = {
        "amount_yuan": fmt.yuan,
        "reverses": lambda _v, _c, m, _n: f"#{m.reverses_id}" if m.reverses_id else "",
        "reversed_by": lambda _v, _c, m, _n: f"#{m.reversed_by.id}" if m.reversed_by else "",
        "posted_at": fmt.minute,
    }
    column_formatters_export = {
        "reverses": lambda _v, _c, m, _n: m.reverses_id or "",
        "posted_on": lambda _v, _c, m, _n: m.posted_on.isoformat(),
        "posted_at": lambda _v, _c, m, _n: m.posted_at.isoformat(sep=" ", timespec="seconds"),
    }
    details_template = "admin/fund/ledger_details.html"
    list_template = "admin/fund/ledger_list.html"

    @property
    def column_filters(self):
        return area_filters(LedgerEntry) + [
            FilterEqual(LedgerEntry.entry_type, _l("Entry type"), options=c.LEDGER_ENTRY_TYPES),
            FilterEqual(LedgerEntry.direction, _l("Direction"), options=c.LEDGER_DIRECTIONS),
            DateBetweenFilter(LedgerEntry.posted_on, _l("Date")),
        ]

    def eager(self, query):
        return query.options(
            selectinload(LedgerEntry.project),
            selectinload(LedgerEntry.household).selectinload(Household.community),
            selectinload(LedgerEntry.donor_organisation),
            selectinload(LedgerEntry.payee_organisation),
            selectinload(LedgerEntry.street),
            selectinload(LedgerEntry.community),
            selectinload(LedgerEntry.posted_by),
        )

    def household_of(self, model):
        return None

    def is_action_allowed(self, name: str) -> bool:
        return False  # the ledger has no bulk actions, delete least of all

    # --- details: evidence and the reversal / add-evidence forms
    def render(self, template, **kwargs):
        model = kwargs.get("model")
        if template == self.details_template and model is not None:
            kwargs.update(
                may_post=_may_post(),
                is_reversible=fund.is_reversible(model),
                evidence_kinds=c.EVIDENCE_KINDS,
                today=dt.date.today(),
            )
        if template == self.list_template:
            kwargs["may_post"] = _may_post()
        return super().render(template, **kwargs)

    def _require_poster(self):
        if not _may_post():
            abort(403)

    def _entry_or_404(self, raw):
        entry = self.get_one(raw)
        if entry is None:
            abort(404)
        return entry

    @expose("/donation/", methods=("GET", "POST"))
    def donation_view(self):
        self._require_poster()
        form = DonationForm(request.form)
        form.donor_organisation.choices = _options(
            access.readable(Organisation, current_user).order_by(Organisation.name)
        )
        pledges = (
            access.readable(Pledge, current_user)
            .filter(
                Pledge.kind == "money",
                Pledge.status == "approved",
                Pledge.received_on.is_(None),
            )
            .order_by(Pledge.id)
        )
        form.pledge.choices = _options(
            pledges,
            lambda p: f"{p.organisation} · {p.project} · {p.amount_yuan:,.2f}",
        )
        form.project.choices = _options(
            access.readable(Project, current_user).order_by(Project.name)
        )
        if request.method == "POST" and form.validate():
            try:
                entry = fund.post_donation(
                    user=current_user,
                    amount=form.amount.data,
                    posted_on=form.posted_on.data,
                    receipt_number=form.receipt_number.data,
                    donor_organisation=_pick(Organisation, form.donor_organisation.data),
                    donor_name=form.donor_name.data,
                    pledge=_pick(Pledge, form.pledge.data),
                    project=_pick(Project, form.project.data),
                    purpose=form.purpose.data,
                    files=request.files.getlist("files"),
                )
            except InvalidValue as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                flash(_("The donation was posted."), "success")
                return redirect(url_for(".details_view", id=entry.id))
        return self.render(
            "admin/fund/post_form.html", form=form, title=_("Post a donation"), kind="donation"
        )

    @expose("/disbursement/", methods=("GET", "POST"))
    def disbursement_view(self):
        self._require_poster()
        form = DisbursementForm(request.form)
        form.project.choices = _options(
            access.readable(Project, current_user).order_by(Project.name)
        )
        form.payee_organisation.choices = _options(
            access.readable(Organisation, current_user).order_by(Organisation.name)
        )
        if request.method == "POST" and form.validate():
            try:
                entry = fund.post_disbursement(
                    user=current_user,
                    amount=form.amount.data,
                    posted_on=form.posted_on.data,
                    purpose=form.purpose.data,
                    project=_pick(Project, form.project.data),
                    household=_pick(Household, form.household.data),
                    payee_organisation=_pick(Organisation, form.payee_organisation.data),
                    payee_person=form.payee_person.data,
                    receipt_number=form.receipt_number.data,
                    files=request.files.getlist("files"),
                )
            except InvalidValue as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                flash(_("The disbursement was posted."), "success")
                return redirect(url_for(".details_view", id=entry.id))
        return self.render(
            "admin/fund/post_form.html",
            form=form,
            title=_("Post a disbursement"),
            kind="disbursement",
        )

    @expose("/reverse/", methods=("POST",))
    def reverse_view(self):
        self._require_poster()
        entry = self._entry_or_404(request.form.get("id", ""))
        try:
            posted_on = dt.date.fromisoformat(request.form.get("posted_on") or "")
        except ValueError:
            posted_on = dt.date.today()
        try:
            reversal = fund.reverse_entry(
                entry, user=current_user, reason=request.form.get("reason", ""), posted_on=posted_on
            )
        except InvalidValue as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for(".details_view", id=entry.id))
        flash(_("The reversing entry was posted."), "success")
        return redirect(url_for(".details_view", id=reversal.id))

    @expose("/evidence/", methods=("POST",))
    def evidence_view(self):
        self._require_poster()
        entry = self._entry_or_404(request.form.get("id", ""))
        kind = request.form.get("kind", "receipt")
        try:
            fund.add_entry_evidence(
                entry, user=current_user, files=request.files.getlist("files"), kind=kind
            )
        except InvalidValue as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(_("The evidence was added."), "success")
        return redirect(url_for(".details_view", id=entry.id))


# ------------------------------------------------------------- support plans
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
    column_formatters = {
        "monthly_amount": fmt.yuan,
        "unit_amount": fmt.yuan,
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
                may_pay=_may_post() and month.status == "checked" and month.payment is None,
                amount_due=fund.month_amount(month),
                today=dt.date.today(),
            )
        return super().render(template, **kwargs)

    def _month_or_404(self):
        month = self.get_one(request.form.get("id", ""))
        if month is None:
            abort(404)
        return month

    def _done(self, month, message):
        flash(message, "success")
        return redirect(url_for(".details_view", id=month.id))

    def _refused(self, month, exc):
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".details_view", id=month.id))

    @expose("/evidence/", methods=("POST",))
    def evidence_view(self):
        if not access.may_write(PlanMonth, current_user):
            abort(403)
        month = self._month_or_404()
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
    def check_view(self):
        if not access.may_write(SupportPlan, current_user):
            abort(403)
        month = self._month_or_404()
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
    def pay_view(self):
        if not _may_post():
            abort(403)
        month = self._month_or_404()
        try:
            posted_on = dt.date.fromisoformat(request.form.get("posted_on") or "")
        except ValueError:
            posted_on = dt.date.today()
        try:
            fund.pay_plan_month(
                month,
                user=current_user,
                posted_on=posted_on,
                receipt_number=request.form.get("receipt_number"),
                files=request.files.getlist("files"),
            )
        except InvalidValue as exc:
            return self._refused(month, exc)
        return self._done(month, _("The month was paid."))


# ------------------------------------------------------------ overview pages
class FundOverviewView(BaseView):
    """``/admin/fund/``: balance, earmarked and free money, this month's and year's
    totals, the months awaiting evidence; ``/admin/fund/anomalies/``: monitoring."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and access.may_read(LedgerEntry, current_user)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    @expose("/")
    def index(self):
        today = dt.date.today()
        return self.render(
            "admin/fund/overview.html",
            position=fund.fund_position(current_user, today),
            todo=fund.plan_month_todo_items(current_user, today),
            today=today,
            may_post=_may_post(),
        )

    @expose("/anomalies/")
    def anomalies(self):
        today = dt.date.today()
        return self.render(
            "admin/fund/anomalies.html",
            found=fund.anomalies(current_user, today),
            today=today,
            overdue_days=current_app.config["PLEDGE_RECEIPT_OVERDUE_DAYS"],
            problems={
                "no_evidence": _("No evidence"),
                "not_checked": _("Evidence not checked"),
                "not_paid": _("Checked, not paid"),
            },
        )
