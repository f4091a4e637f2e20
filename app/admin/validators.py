"""WTForms validators wrapping the shared rules in ``app.validation``, so a bad value
gets its message beside the field before anything is saved."""

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms.validators import ValidationError

from app import throttle
from app.services import people
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
    """The message for an ID number already registered to another record, or None.

    The same rule as every save (``Household``/``Member`` check it on flush); said
    here early, beside the field, with a link when the other record is in the user's
    area. Unchanged numbers are not checked again (the record's own). Throttled and
    logged: the answer tells whether a person is known to the district."""
    if not field.data:
        return None
    try:
        number = normalize_id_number(field.data)
    except InvalidValue:
        return None  # the format validator reports it
    original = getattr(field, "object_data", None)
    if original and original == number:
        return None  # the record's own number, saved back
    if not throttle.allow_id_number_check():
        return throttle.TOO_MANY_ID_CHECKS
    current = getattr(form, "_obj", None)
    own = (own_kind, current.id) if current is not None and current.id else None
    clash = people.clash_for(number, current_user, own=own)
    if clash is None:
        return None
    if clash.household_id is None:
        return clash.message
    link = url_for("household.details_view", id=clash.household_id)
    return Markup('{} <a href="{}">{}</a>').format(clash.message, link, _l("Open it"))


def unique_head_id_number(form, field):
    """No two households share a head, and a member is not also a head."""
    message = _registration_clash(form, field, "head")
    if message:
        raise ValidationError(message)


def unique_member_id_number(form, field):
    """A member is nobody else's member and no household's head."""
    message = _registration_clash(form, field, "member")
    if message:
        raise ValidationError(message)
