"""The audit trail as people use it: the events that are not writes (reveals, exports,
logins), and reading a record's history.

Writes of records are recorded by the session listener in ``app/models/audit.py``,
whoever writes; nothing here needs calling for them. The events here are whole user
actions of their own and commit (a reveal is recorded before the value is shown; an
export before its file streams; a failed login although nothing else is saved).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app import access
from app.extensions import db
from app.models import AuditEvent, User
from app.models.audit import acting_context, personal_columns_of, stored_value
from app.validation import mask_id_number, mask_phone

#: how many events a record's history shows (newest first)
HISTORY_LIMIT = 100
#: the personal columns a reveal shows in full (income and health stay as they are)
REVEALABLE_KINDS = {"id": mask_id_number, "phone": mask_phone}


def record_event(
    action: str,
    *,
    user=None,
    record=None,
    record_type: str | None = None,
    record_id: int | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Add one event that is not a write and commit it (with nothing else pending:
    callers call this between transactions)."""
    if record is not None:
        record_type, record_id = record.__tablename__, record.id
    street = getattr(record, "street_id", None) if record is not None else None
    event = AuditEvent(
        action=action,
        record_type=record_type,
        record_id=record_id,
        street_id=street,
        detail=detail,
        **acting_context(user=user),
    )
    db.session.add(event)
    db.session.commit()
    return event


def record_login(user) -> AuditEvent:
    return record_event("login", user=user, record=user)


def record_failed_login(user_id: int | None, reason: str, account_key: str) -> AuditEvent:
    """A failed login: the account's id when the name is known, else only a hash of
    what was typed (never the typed name, which is often a password by mistake)."""
    detail = {"reason": reason}
    if user_id is None:
        detail["account_key"] = account_key
    user = db.session.get(User, user_id) if user_id is not None else None
    return record_event(
        "login_failed", user=user, record_type="users", record_id=user_id, detail=detail
    )


def record_export(*, view: str, record_type: str | None, filters, search, rows) -> AuditEvent:
    """Who exported which list, with which filters and search, how many rows."""
    return record_event(
        "export",
        record_type=record_type,
        detail={
            "view": view,
            "filters": [[str(name), str(value)] for name, value in filters or []],
            "search": search,
            "rows": rows,
        },
    )


def revealable_columns(model) -> dict[str, str]:
    """Personal columns of ``model`` masked on details pages until revealed."""
    return {k: v for k, v in personal_columns_of(model).items() if v in REVEALABLE_KINDS}


def reveal(record, field: str, *, household, user) -> str | None:
    """The full value of ``record.field`` for ``user``, recorded; None when the field
    is not one that is revealed or the user may not see it (nothing is recorded)."""
    if field not in revealable_columns(type(record)):
        return None
    if not access.can_reveal_personal_data(household, user):
        return None
    value = getattr(record, field)
    record_event("reveal", user=user, record=record, detail={"field": field})
    return "" if value is None else str(value)


# ------------------------------------------------------------------ reading
@dataclass(frozen=True)
class Change:
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class HistoryEntry:
    event: AuditEvent
    user: User | None
    changes: tuple[Change, ...]


def may_read_history(record, user) -> bool:
    """Anyone who may read the record reads its history (staff only: sponsors see
    their projects through the portal, not the office's trail)."""
    model = type(record)
    if not getattr(user, "is_staff", False) or record.id is None:
        return False
    found = db.session.scalar(access.visible(model, user).where(model.id == record.id))
    return found is not None


def history(record, user, *, limit: int = HISTORY_LIMIT) -> list[HistoryEntry] | None:
    """The record's events, newest first, or None when ``user`` may not read it.

    Values were masked when they were stored; a personal value recorded before its
    column was declared personal is masked here too."""
    if not may_read_history(record, user):
        return None
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.record_type == record.__tablename__, AuditEvent.record_id == record.id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
    users = _users_by_id({e.user_id for e in events})
    personal = personal_columns_of(type(record))
    entries = []
    for event in events:
        changes = tuple(
            Change(field, *_masked(personal.get(field), old_new))
            for field, old_new in (event.changes or {}).items()
        )
        entries.append(HistoryEntry(event, users.get(event.user_id), changes))
    return entries


def _masked(kind, old_new):
    old, new = old_new
    if kind is None:
        return old, new
    # already masked values stay as they are; a full one (older rows) is masked now
    return tuple(v if _looks_masked(v) else stored_value(kind, v) for v in (old, new))


def _looks_masked(value) -> bool:
    return value is None or value == "" or "*" in str(value)


def _users_by_id(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
