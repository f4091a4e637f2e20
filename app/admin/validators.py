"""WTForms validators wrapping the shared rules in ``app.validation``, so a bad value
gets its message beside the field before anything is saved."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.validators import ValidationError

from app.extensions import db
from app.validation import (
    InvalidValue,
    check_not_future,
    normalize_id_number,
    normalize_money,
    normalize_phone,
)


def _wrap(normalize):
    def validator(_form, field):
        if field.data in (None, ""):
            return
        try:
            normalize(field.data)
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from None

    return validator


id_number = _wrap(normalize_id_number)
phone = _wrap(normalize_phone)
money = _wrap(normalize_money)
not_future = _wrap(check_not_future)


def unique_head_id_number(form, field):
    """No two households share a head of household."""
    from app.models import Household, Member

    if not field.data:
        return
    try:
        number = normalize_id_number(field.data)
    except InvalidValue:
        return
    current = getattr(form, "_obj", None)
    existing = db.session.scalar(select(Household.id).where(Household.head_id_number == number))
    if existing is not None and (current is None or current.id != existing):
        raise ValidationError(_l("A household with this head of household is already registered."))
    member = db.session.scalar(select(Member.id).where(Member.id_number == number))
    if member is not None:
        raise ValidationError(_l("This person is already registered as a member of a household."))


def unique_member_id_number(form, field):
    from app.models import Household, Member

    if not field.data:
        return
    try:
        number = normalize_id_number(field.data)
    except InvalidValue:
        return
    current_id = getattr(getattr(form, "_obj", None), "id", None)
    existing = db.session.scalar(select(Member.id).where(Member.id_number == number))
    if existing is not None and existing != current_id:
        raise ValidationError(_l("This person is already registered as a member of a household."))
    if db.session.scalar(select(Household.id).where(Household.head_id_number == number)):
        raise ValidationError(_l("This person is already registered as a head of household."))
