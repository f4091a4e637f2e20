"""A person is registered once in the district: as the head of one household or as a
member of one. The rule itself lives on the models (``find_registration``, checked on
every save of a household or member, whoever saves); this module says what the person
saving is told about the other record, which depends on their area."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import access
from app.extensions import db
from app.models import Household, Member
from app.models.household import DuplicateRegistration, find_registration

__all__ = ["Clash", "DuplicateRegistration", "clash_for", "registration_of"]


def registration_of(id_number: str) -> tuple[str, int] | None:
    """("head", household id) or ("member", member id) for a normalized resident ID
    number, or None when nobody in the district has it."""
    return find_registration(db.session, id_number)


@dataclass(frozen=True)
class Clash:
    """What the user may learn about the record that already has the number."""

    message: str
    #: the household (details page) holding the number, when it is in the user's area
    household_id: int | None = None


def clash_for(id_number: str, user, *, own: tuple[str, int | None] | None = None) -> Clash | None:
    """The clash of ``id_number`` with another registration (not ``own``), as ``user``
    may hear of it: inside their area, which household holds it; elsewhere only that
    the district knows the person (the other record's area and name stay hidden)."""
    found = registration_of(id_number)
    if found is None or (own is not None and found == own):
        return None
    kind, record_id = found
    household_id = record_id
    if kind == "member":
        household_id = db.session.scalar(select(Member.household_id).where(Member.id == record_id))
    visible = db.session.scalar(
        access.visible(Household, user)
        .with_only_columns(Household.id)
        .where(Household.id == household_id)
    )
    if visible is None:
        return Clash(
            _l(
                "This ID number is already registered in the district. Please contact the "
                "district civil-affairs bureau to check it."
            )
        )
    if kind == "head":
        message = _l(
            "This ID number is already registered as the head of a household in your area."
        )
    else:
        message = _l(
            "This ID number is already registered as a member of a household in your area."
        )
    return Clash(message, household_id=household_id)
