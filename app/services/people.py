"""A person is registered once in the district: as the head of one household or as a
member of one. The rule itself lives on the models (``find_registration``, checked on
every save of a household or member, whoever saves); this module says what the person
saving is told about the other record, which depends on their area."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import ARRAY, Text, and_, literal, or_, select, union

from app import access
from app.extensions import db
from app.models import Household, Member
from app.models.household import DuplicateRegistration, find_registration, grams
from app.validation import InvalidValue, escape_like, normalize_id_number

__all__ = [
    "Clash",
    "DuplicateRegistration",
    "clash_for",
    "household_search",
    "households_with_id_number",
    "registration_of",
]

_ID_SHAPE = re.compile(r"^\d{17}[\dXx]$")
_MOBILE_SHAPE = re.compile(r"^1\d{10}$")


def households_with_id_number(number: str):
    """Ids of the households whose head or a member has the ID number ``number``:
    a UNION of two unique-index look-ups (an OR of the two made PostgreSQL scan every
    household). Unscoped; callers add the user's scope."""
    return union(
        select(Household.id).where(Household.head_id_number == number),
        select(Member.household_id).where(Member.id_number == number),
    )


def _contains(column, term: str, *, indexed: bool):
    """``column`` contains ``term``. On PostgreSQL by the gram index
    (``yj_grams(column) @> grams(term)``): for one or two characters holding the piece
    is containing the term; a longer term is rechecked by ILIKE (its pieces could be
    there in another order). The planner estimates the gram test well from the index's
    statistics, and the list's total with it."""
    like = column.ilike(f"%{escape_like(term)}%", escape="\\")
    if not indexed:
        return like
    pieces = db.func.yj_grams(column).op("@>")(literal(grams(term), ARRAY(Text)))
    return pieces if len(term) <= 2 else and_(pieces, like)


def household_search(term: str):
    """The criterion on ``Household`` for what a person typed in the search box: a full
    ID number finds the household of that head or member, a mobile number the head's
    household (both by equality, from unique indexes), anything else a piece of the
    head's name or of the address."""
    term = term.strip()
    if _ID_SHAPE.match(term):
        try:
            number = normalize_id_number(term)
        except InvalidValue:
            number = term.upper()
        return Household.id.in_(households_with_id_number(number))
    if _MOBILE_SHAPE.match(term):
        return Household.head_phone == term
    indexed = db.engine.dialect.name == "postgresql"
    return or_(
        _contains(Household.head_name, term, indexed=indexed),
        _contains(Household.address, term, indexed=indexed),
    )


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
