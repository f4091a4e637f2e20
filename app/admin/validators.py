"""WTForms validators wrapping the shared rules in ``app.validation``, so a bad value
gets its message beside the field before anything is saved."""

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

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


def _registration_clash(form, field, own_kind: str):
    """The message for an ID number already registered to another record, or None."""
    if not field.data:
        return None
    try:
        number = normalize_id_number(field.data)
    except InvalidValue:
        return None  # the format validator reports it
    from app.services.people import registration_of

    found = registration_of(number)
    if found is None:
        return None
    kind, record_id = found
    current = getattr(form, "_obj", None)
    if kind == own_kind and current is not None and current.id == record_id:
        return None
    if kind == "member":
        return _l("This person is already registered as a member of a household.")
    if own_kind == "head":
        return _l("A household with this head of household is already registered.")
    return _l("This person is already registered as a head of household.")


def unique_head_id_number(form, field):
    """No two households share a head, and a member is not also a head."""
    message = _registration_clash(form, field, "head")
    if message:
        raise ValidationError(message)


def unique_member_id_number(form, field):
    message = _registration_clash(form, field, "member")
    if message:
        raise ValidationError(message)
