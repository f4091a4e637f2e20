"""A person is registered once: as the head of one household or as a member of one."""

from sqlalchemy import select

from app.extensions import db
from app.models import Household, Member


def registration_of(id_number: str) -> tuple[str, int] | None:
    """("head", household id) or ("member", member id) for a normalized resident ID
    number, or None when nobody has it. Deliberately unscoped: a duplicate must be
    caught even when the other record lies in another street."""
    household_id = db.session.scalar(
        select(Household.id).where(Household.head_id_number == id_number)
    )
    if household_id is not None:
        return "head", household_id
    member_id = db.session.scalar(select(Member.id).where(Member.id_number == id_number))
    if member_id is not None:
        return "member", member_id
    return None
