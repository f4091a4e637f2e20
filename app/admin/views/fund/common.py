"""Labels and small helpers shared by the special fund's views."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import access
from app.access import Permission
from app.extensions import db
from app.validation import InvalidValue, parse_id

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


def int_or_none(value):
    """A drop-down's id, or None for "none chosen"; anything else is an invalid choice
    (refused by the form), never quietly "none"."""
    if value in (None, "", "None"):
        return None
    pk = parse_id(value)
    if pk is None:
        raise ValueError("not an id")
    return pk


def may_post() -> bool:
    return access.can(current_user, Permission.POST_LEDGER)


def posted_on_from(raw: str | None) -> dt.date:
    """The date typed in a posting form: today when left empty, refused when it is not
    a date (never quietly replaced)."""
    raw = (raw or "").strip()
    if not raw:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidValue(_l("Enter the date as YYYY-MM-DD.")) from None


def options_of(query, label=str):
    return [(None, "—")] + [(row.id, label(row)) for row in query]


def pick_visible(model, value):
    """The row ``value`` names, if the user may read it; a missing one is an error."""
    if value is None:
        return None
    row = db.session.scalar(access.visible(model, current_user).where(model.id == value))
    if row is None:
        raise InvalidValue(_l("Choose a record within your own area."))
    return row
