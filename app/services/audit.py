"""The audit trail as people use it: the events that are not writes (reveals, exports,
logins), and reading a record's history.

Writes of records are recorded by the session listener in ``app/models/audit.py``,
whoever writes; nothing here needs calling for them. The events here are whole user
actions of their own and commit (a reveal is recorded before the value is shown; an
export before its file streams; a failed login although nothing else is saved).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import Integer, and_, bindparam, delete, func, select, union

from app import access
from app.extensions import db
from app.models import AuditEvent, User
from app.models.audit import (
    AuditPurge,
    acting_context,
    household_id_of,
    jsonable,
    personal_columns_of,
    stored_value,
)
from app.models.base import utcnow
from app.services.transaction import committed
from app.validation import InvalidValue, mask_id_number, mask_phone

#: how many events a record's history shows (newest first)
HISTORY_LIMIT = 100
#: the personal columns a reveal shows in full (income and health stay as they are)
REVEALABLE_KINDS = {"id": mask_id_number, "phone": mask_phone}
#: a household's history also shows the events of its parts (those the reader may open)
HOUSEHOLD_PARTS = (
    "household_members",
    "needs",
    "assessments",
    "case_transitions",
    "need_matches",
    "service_records",
    "support_plans",
)


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
        household_id=household_id_of(record) if record is not None else None,
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
    #: an event of one of a household's parts, on the household's history ...
    is_part: bool = False
    #: ... and that part as it is now (None when it was deleted since)
    part: object | None = None


def may_read_history(record, user) -> bool:
    """Anyone who may read the record reads its history (staff only: sponsors see
    their projects through the portal, not the office's trail)."""
    model = type(record)
    if not getattr(user, "is_staff", False) or record.id is None:
        return False
    found = db.session.scalar(access.visible(model, user).where(model.id == record.id))
    return found is not None


def model_of_table(table: str | None):
    """The model class whose table is ``table`` (None: no such model)."""
    if not _MODELS:
        for mapper in db.Model.registry.mappers:
            _MODELS[getattr(mapper.class_, "__tablename__", None)] = mapper.class_
    return _MODELS.get(table)


_MODELS: dict[str | None, type] = {}


def _readable_parts(user) -> dict[str, type]:
    parts = {}
    for table in HOUSEHOLD_PARTS:
        model = model_of_table(table)
        if model is not None and access.may_read(model, user):
            parts[table] = model
    return parts


def _events_of(table: str, parts: dict[str, type]) -> list:
    """SQL criteria, each one index's worth: the events shown on the history of the
    record ``:record_id`` of ``table``. A household's are its own and those of its
    ``parts`` (the ones the user may open: members, needs, visits, status changes
    ...), found by the household they name — deleted parts too; events recorded
    before the trail named the household are found by its parts of now."""
    record_id = bindparam("record_id", type_=Integer)
    own = and_(AuditEvent.record_type == table, AuditEvent.record_id == record_id)
    if table != "households" or not parts:
        return [own]
    named = and_(
        AuditEvent.household_id == record_id,
        AuditEvent.record_type.in_(["households", *parts]),
    )
    earlier = [
        and_(
            AuditEvent.record_type == part,
            AuditEvent.record_id.in_(select(model.id).where(model.household_id == record_id)),
            AuditEvent.household_id.is_(None),
        )
        for part, model in parts.items()
    ]
    return [own, named, *earlier]


#: (table, the parts a user may open, limit) → the history's statement, built once: a
#: household's has nine branches, and building them anew was most of the time its
#: page spent on the history (the record's id is a parameter, ``:record_id``)
_HISTORY_STATEMENTS: dict[tuple, object] = {}


def _history_statement(table: str, parts: dict[str, type], limit: int):
    key = (table, tuple(parts), limit)
    statement = _HISTORY_STATEMENTS.get(key)
    if statement is None:
        newest = _newest_ids(_events_of(table, parts), limit)
        statement = (
            select(AuditEvent)
            .where(AuditEvent.id.in_(newest))
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
        _HISTORY_STATEMENTS[key] = statement
    return statement


def _newest_ids(criteria: list, limit: int):
    """The ids of the newest ``limit`` events meeting any of ``criteria``: each
    criterion's newest first, then the newest of those (one OR over all of them makes
    PostgreSQL walk the whole table backwards, hoping for a match)."""
    if len(criteria) == 1:
        return select(AuditEvent.id).where(criteria[0]).order_by(AuditEvent.id.desc()).limit(limit)
    branches = []
    for criterion in criteria:
        newest = (
            select(AuditEvent.id.label("id"))
            .where(criterion)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
            .subquery()
        )
        branches.append(select(newest.c.id))
    return select(union(*branches).subquery().c.id)


def _parts_now(events, parts: dict[str, type]) -> dict[tuple[str, int], object]:
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.record_type in parts and event.record_id is not None:
            wanted.setdefault(event.record_type, set()).add(event.record_id)
    found = {}
    for table, ids in wanted.items():
        model = parts[table]
        for row in db.session.scalars(select(model).where(model.id.in_(ids))):
            found[(table, row.id)] = row
    return found


def history(record, user, *, limit: int = HISTORY_LIMIT) -> list[HistoryEntry] | None:
    """The record's events, newest first, or None when ``user`` may not read it; for a
    household, with the events of its parts (``_events_of``), each saying which part.

    Values were masked when they were stored; a personal value recorded before its
    column was declared personal is masked here too (by the columns of the event's
    own record, a member's ID number as a member's)."""
    if not may_read_history(record, user):
        return None
    parts = _readable_parts(user) if record.__tablename__ == "households" else {}
    statement = _history_statement(record.__tablename__, parts, limit)
    events = db.session.scalars(statement, {"record_id": record.id}).all()
    users = _users_by_id({e.user_id for e in events})
    now = _parts_now(events, parts)
    entries = []
    for event in events:
        is_own = event.record_type == record.__tablename__
        model = type(record) if is_own else model_of_table(event.record_type)
        personal = personal_columns_of(model) if model is not None else {}
        changes = tuple(
            Change(field, *_masked(personal.get(field), old_new))
            for field, old_new in (event.changes or {}).items()
        )
        part = None if is_own else now.get((event.record_type, event.record_id))
        entries.append(HistoryEntry(event, users.get(event.user_id), changes, not is_own, part))
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


# ------------------------------------------------------------------ retention
@dataclass(frozen=True)
class RetentionReport:
    """What lies past the retention: events that occurred before ``before``."""

    days: int | None
    before: dt.datetime | None
    rows: int
    last_id: int | None
    oldest: dt.datetime | None
    by_action: dict[str, int]


def retention_days() -> int | None:
    """``AUDIT_RETENTION_DAYS`` (None or 0: the trail is kept for ever)."""
    days = current_app.config.get("AUDIT_RETENTION_DAYS")
    return int(days) if days else None


def retention_report(now: dt.datetime | None = None) -> RetentionReport:
    """How many events are older than the retention, and which kinds (read only)."""
    days = retention_days()
    if days is None:
        return RetentionReport(None, None, 0, None, None, {})
    before = (now or utcnow()) - dt.timedelta(days=days)
    older = AuditEvent.occurred_at < before
    rows, last_id, oldest = db.session.execute(
        select(func.count(), func.max(AuditEvent.id), func.min(AuditEvent.occurred_at)).where(older)
    ).one()
    by_action = dict(
        db.session.execute(
            select(AuditEvent.action, func.count()).where(older).group_by(AuditEvent.action)
        ).all()
    )
    return RetentionReport(days, before, rows, last_id, oldest, by_action)


class PurgeRefused(InvalidValue):
    """The purge was refused or could not be completed; nothing was deleted."""


def _export_events(report: RetentionReport, path: Path) -> tuple[int, str]:
    """Write the events the purge covers to ``path`` (JSON lines, never overwriting a
    file), flushed to disk; returns (rows written, SHA-256 of the file)."""
    table = AuditEvent.__table__
    stmt = (
        select(table)
        .where(table.c.occurred_at < report.before, table.c.id <= report.last_id)
        .order_by(table.c.id)
        .execution_options(yield_per=5000)
    )
    digest, written = hashlib.sha256(), 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as out:
        for row in db.session.execute(stmt):
            values = {
                k: v if isinstance(v, dict | list) else jsonable(v) for k, v in row._mapping.items()
            }
            line = json.dumps(values, ensure_ascii=False)
            data = (line + "\n").encode()
            out.write(data)
            digest.update(data)
            written += 1
        out.flush()
        os.fsync(out.fileno())
    return written, digest.hexdigest()


def purge_past_retention(path: Path, *, user=None, now: dt.datetime | None = None) -> AuditPurge:
    """Move the events past the retention out of the trail: export them to ``path``
    first, then, in one transaction, record the purge (``AuditPurge``: the only thing
    the triggers let a DELETE of events through for, and itself immutable) and delete
    exactly the exported events. Refused when no retention is set or nothing is
    older; rolled back (the file stays, nothing is deleted) when the counts differ."""
    report = retention_report(now)
    if report.days is None:
        raise PurgeRefused("AUDIT_RETENTION_DAYS is not set: the audit trail is kept for ever")
    if not report.rows:
        raise PurgeRefused("no audit events are older than the retention")
    db.session.rollback()  # the export reads on a transaction of its own
    written, sha256 = _export_events(report, path)
    if written != report.rows:
        raise PurgeRefused(
            f"exported {written} events but counted {report.rows}: nothing was deleted"
        )
    table = AuditEvent.__table__
    with committed():
        purge = AuditPurge(
            user_id=getattr(user, "id", None),
            occurred_before=report.before,
            last_id=report.last_id,
            rows=written,
            file_name=str(path),
            sha256=sha256,
        )
        db.session.add(purge)
        db.session.flush()
        deleted = db.session.execute(
            delete(table).where(table.c.occurred_at < report.before, table.c.id <= report.last_id)
        ).rowcount
        if deleted != written:
            raise PurgeRefused(
                f"{deleted} events matched but {written} were exported: nothing was deleted"
            )
    return purge
