"""The special fund's read-only ledger and its posting forms (donation, disbursement,
reversal, evidence). Rules: ``app/services/fund/ledger.py``."""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, request, url_for
from flask_admin import expose
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
from app.access import Permission
from app.admin import formatters as fmt
from app.admin import validators
from app.admin.base import ScopedModelView
from app.admin.filters import area_filters
from app.admin.gate import Row, requires
from app.admin.views.fund.common import (
    FUND_LABELS,
    int_or_none,
    may_post,
    options_of,
    pick_visible,
    posted_on_from,
)
from app.extensions import db
from app.models import (
    Household,
    LedgerEntry,
    Organisation,
    Pledge,
    Project,
)
from app.models import choices as c
from app.services import fund
from app.validation import MAX_ID, InvalidValue, format_yuan


class DonationForm(Form):
    amount = StringField(_l("Amount (yuan)"), validators=[InputRequired()])
    posted_on = DateField(
        _l("Date on the receipt"), validators=[InputRequired(), validators.not_future]
    )
    receipt_number = StringField(_l("Receipt number"), validators=[InputRequired(), Length(max=40)])
    donor_organisation = SelectField(_l("Donor organisation"), coerce=int_or_none)
    donor_name = StringField(_l("Donor (person)"), validators=[Optional(), Length(max=60)])
    pledge = SelectField(_l("Settles the pledge"), coerce=int_or_none)
    project = SelectField(_l("Earmarked for the project"), coerce=int_or_none)
    purpose = TextAreaField(_l("Purpose"), validators=[Optional(), Length(max=500)])
    files = MultipleFileField(_l("Receipt (photo or PDF)"))


class DisbursementForm(Form):
    amount = StringField(_l("Amount (yuan)"), validators=[InputRequired()])
    posted_on = DateField(
        _l("Date of the payment order"), validators=[InputRequired(), validators.not_future]
    )
    purpose = TextAreaField(_l("Purpose"), validators=[InputRequired(), Length(max=500)])
    project = SelectField(_l("Project"), coerce=int_or_none)
    household = IntegerField(
        _l("Household No."), validators=[Optional(), NumberRange(min=1, max=MAX_ID)]
    )
    payee_organisation = SelectField(_l("Payee organisation"), coerce=int_or_none)
    payee_person = StringField(_l("Payee (person)"), validators=[Optional(), Length(max=40)])
    receipt_number = StringField(
        _l("Receipt or voucher number"), validators=[Optional(), Length(max=40)]
    )
    files = MultipleFileField(_l("Evidence (invoices, receipts, photos)"))


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
    #: ¥38,900.00 on the page; numbers in exports (a number cannot carry a formula)
    money_columns = ("amount_yuan", "signed_amount")
    column_default_sort = [("posted_on", True), ("id", True)]
    column_sortable_list = ("id", "posted_on", "entry_type", "amount_yuan")
    column_searchable_list = ("purpose", "receipt_number", "donor_name", "payee_person")
    column_formatters = {
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
                may_post=may_post(),
                is_reversible=fund.is_reversible(model),
                evidence_kinds=c.EVIDENCE_KINDS,
                today=dt.date.today(),
            )
        if template == self.list_template:
            kwargs["may_post"] = may_post()
        return super().render(template, **kwargs)

    @expose("/donation/", methods=("GET", "POST"))
    @requires(Permission.POST_LEDGER)
    def donation_view(self):
        form = DonationForm(request.form)
        form.donor_organisation.choices = options_of(
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
        form.pledge.choices = options_of(
            pledges,
            lambda p: f"{p.organisation} · {p.project} · {format_yuan(p.amount_yuan)}",
        )
        form.project.choices = options_of(
            access.readable(Project, current_user).order_by(Project.name)
        )
        if request.method == "POST" and form.validate():
            try:
                entry = fund.post_donation(
                    user=current_user,
                    amount=form.amount.data,
                    posted_on=form.posted_on.data,
                    receipt_number=form.receipt_number.data,
                    donor_organisation=pick_visible(Organisation, form.donor_organisation.data),
                    donor_name=form.donor_name.data,
                    pledge=pick_visible(Pledge, form.pledge.data),
                    project=pick_visible(Project, form.project.data),
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
    @requires(Permission.POST_LEDGER)
    def disbursement_view(self):
        form = DisbursementForm(request.form)
        form.project.choices = options_of(
            access.readable(Project, current_user).order_by(Project.name)
        )
        form.payee_organisation.choices = options_of(
            access.readable(Organisation, current_user).order_by(Organisation.name)
        )
        if request.method == "POST" and form.validate():
            try:
                entry = fund.post_disbursement(
                    user=current_user,
                    amount=form.amount.data,
                    posted_on=form.posted_on.data,
                    purpose=form.purpose.data,
                    project=pick_visible(Project, form.project.data),
                    household=pick_visible(Household, form.household.data),
                    payee_organisation=pick_visible(Organisation, form.payee_organisation.data),
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
    @requires(Permission.POST_LEDGER, Row(write=True))
    def reverse_view(self):
        entry = self.row()
        try:
            reversal = fund.reverse_entry(
                entry,
                user=current_user,
                reason=request.form.get("reason", ""),
                posted_on=posted_on_from(request.form.get("posted_on")),
            )
        except InvalidValue as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for(".details_view", id=entry.id))
        flash(_("The reversing entry was posted."), "success")
        return redirect(url_for(".details_view", id=reversal.id))

    @expose("/evidence/", methods=("POST",))
    @requires(Permission.POST_LEDGER, Row(write=True))
    def evidence_view(self):
        entry = self.row()
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
