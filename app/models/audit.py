"""The audit trail: one table, ``audit_events``, that every write adds to.

Who (user, role, area), when, from where (request id, address, path — or the CLI
command), what (create / update / delete / archive / restore of a record, with each
changed field's old and new value; or a reveal, an export, a login, a failed login).

**One mechanism, in the model layer.** ``_collect`` (an ``after_flush`` listener on
every ``Session``) reads the ORM's own history of each new, changed and deleted object
and inserts the audit rows on the flush's connection, inside the same transaction: a
flush or commit that fails takes its audit rows with it, and no audit row exists
without the write it describes. Writes from the panel, inline edits, bulk actions,
services, the CLI, imports and tests all flush through the session, so none can skip
it. (Bulk SQL ``update()``/``delete()`` statements are not seen by the ORM: the
derived-area copies in ``app/models/__init__.py`` are the only ones, and they only
copy a household's street and community onto its parts, which the household's own
event already records.)

**Why session events, not SQLAlchemy-Continuum or PostgreSQL-Audit.** Continuum keeps
a shadow ``*_version`` table per model plus a transaction table, rewrites the mappers
and is a heavy dependency on the ORM's internals; PostgreSQL-Audit works only on
PostgreSQL (we also run on SQLite) and writes from triggers, which know nothing of
the logged-in user, the request or the CLI command. We want one table that the
history tab and the audit page index once, values of personal columns masked before
they are stored, and the request's context: about 200 lines of session listener.

**Personal data.** Values of personal columns are stored masked (``mask_id_number``,
``mask_phone``, or ``HIDDEN``): the trail says *that* a phone number changed and
which one it looks like, never the number. ``PERSONAL_COLUMNS`` lists them per table;
a model may also declare ``__personal__ = {"column": "id" | "phone" | "hidden"}``.

**Immutable.** Triggers refuse UPDATE and DELETE on both backends and, on PostgreSQL,
TRUNCATE (a statement-level trigger): made by ``db.create_all()`` (below) and by the
migrations ``f3c8a6d2e915`` and ``d9e4a7b3c215``. The one DELETE they let through is
of events a purge past the retention covers (``AuditPurge``, itself immutable:
``flask audit-retention --purge --confirm`` exports the events first), so nothing
leaves the trail without a permanent record of who moved what where. ``user_id``/``street_id`` are plain indexed integers, not
foreign keys: the trail outlives the rows it names, and ``ON DELETE SET NULL`` would
be an UPDATE the trigger refuses.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, Mapper, Session, foreign, mapped_column, relationship
from sqlalchemy.orm.state import AttributeState

from app.extensions import db
from app.models.area import Area
from app.models.base import utcnow
from app.models.user import User
from app.validation import HIDDEN, mask_id_number, mask_phone

#: what an event says happened
WRITE_ACTIONS = ("create", "update", "delete", "archive", "restore")
ACTIONS = (*WRITE_ACTIONS, "reveal", "export", "login", "login_failed")
ACTION_LABELS = [
    ("create", _l("Created")),
    ("update", _l("Changed")),
    ("delete", _l("Deleted")),
    ("archive", _l("Archived")),
    ("restore", _l("Restored")),
    ("reveal", _l("Revealed")),
    ("export", _l("Exported")),
    ("login", _l("Logged in")),
    ("login_failed", _l("Failed login")),
]

#: per table: column → how its values are masked in the trail
PERSONAL_COLUMNS: dict[str, dict[str, str]] = {
    "households": {
        "head_id_number": "id",
        "head_phone": "phone",
        "head_birth_date": "hidden",
        "monthly_income": "hidden",
        "existing_support": "hidden",
    },
    "household_members": {"id_number": "id", "birth_date": "hidden", "health": "hidden"},
    "assessments": {
        "findings": "hidden",
        "benefits_found": "hidden",
        "living_conditions": "hidden",
    },
    "organisations": {"contact_phone": "phone"},
    "resources": {"provider_phone": "phone"},
    "service_records": {"provider_phone": "phone"},
    "support_plans": {"payee_phone": "phone"},
    "users": {"password_hash": "hidden"},
}
MASKERS = {"id": mask_id_number, "phone": mask_phone, "hidden": lambda v: HIDDEN}
#: who/when of the row itself: the event's own who/when says it
SKIPPED_COLUMNS = frozenset({"id", "updated_at", "updated_by_id", "created_at", "created_by_id"})
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AuditEvent(db.Model):
    """One thing that happened: a write of a record, a reveal, an export, a login."""

    __tablename__ = "audit_events"
    __table_args__ = (
        #: a record's history, newest first (id: no sort of a busy record's events)
        Index("ix_audit_events_record", "record_type", "record_id", "id"),
        #: a household's history: its own events and those of its parts, newest first
        Index("ix_audit_events_household", "household_id", "id"),
        #: the audit log lists newest first (``occurred_at, id``), narrowed by time, a
        #: user (and day), a street or an action: each in the list's order, so a
        #: page is read from an index, never sorted out of millions of rows
        Index("ix_audit_events_occurred_at", "occurred_at", "id"),
        Index("ix_audit_events_user_time", "user_id", "occurred_at", "id"),
        Index("ix_audit_events_street_time", "street_id", "occurred_at", "id"),
        Index("ix_audit_events_action", "action", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: the acting user (None: the CLI without --user, or a failed login of nobody)
    user_id: Mapped[int | None] = mapped_column(Integer)
    user_role: Mapped[str | None] = mapped_column(String(20))
    #: the acting user's own area (street or community)
    user_area_id: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    #: the request's path, or ``flask <command>``
    source: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    #: the record's table (``households``) and id; None for logins
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    #: the record's street (for the audit page's street filter), when it has one
    street_id: Mapped[int | None] = mapped_column(Integer)
    #: the household the record is (or is a part of: a member, need, visit, status
    #: change ...), so that the household's history finds them, deleted ones too
    household_id: Mapped[int | None] = mapped_column(Integer)
    #: writes: {field: [old, new]}, personal values masked
    changes: Mapped[dict | None] = mapped_column(JSON)
    #: reveals, exports, logins: what else is worth knowing (field, filters, rows ...)
    detail: Mapped[dict | None] = mapped_column(JSON)

    user = relationship(User, primaryjoin=foreign(user_id) == User.id, viewonly=True)
    street = relationship(Area, primaryjoin=foreign(street_id) == Area.id, viewonly=True)

    def __str__(self) -> str:
        return f"{self.action} {self.record_type or ''} {self.record_id or ''}".strip()


# ------------------------------------------------------------------ context
#: set by the CLI (``command_context``): the command and the user it acts for
_command: ContextVar[dict | None] = ContextVar("audit_command", default=None)


@contextmanager
def command_context(command: str, username: str | None = None):
    """Within a CLI command: its writes are recorded as done by ``flask <command>``
    (and by ``--user`` when given)."""
    token = _command.set({"command": command, "username": username})
    try:
        yield
    finally:
        _command.reset(token)


#: set while an import writes (``import_context``): its rows name the import
_import: ContextVar[dict | None] = ContextVar("audit_import", default=None)


@contextmanager
def import_context(import_id: int, file_name: str, sha256: str, user_id: int | None):
    """Within an import's commit: every write is recorded as done by the import
    (``source`` names it, ``detail`` carries its id, file name and checksum) and by
    the user who committed it, in a request or in a background job alike."""
    token = _import.set(
        {"import_id": import_id, "file_name": file_name, "sha256": sha256, "user_id": user_id}
    )
    try:
        yield
    finally:
        _import.reset(token)


def _import_detail() -> dict | None:
    imported = _import.get()
    if imported is None:
        return None
    return {"import": {k: imported[k] for k in ("import_id", "file_name", "sha256")}}


def _request_id() -> str:
    from flask import g, request

    if "audit_request_id" not in g:
        given = request.headers.get("X-Request-Id", "")
        g.audit_request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
    return g.audit_request_id


def acting_context(connection=None, user=None) -> dict:
    """Who acts and from where: the logged-in user and the request, or the CLI
    command; ``user`` overrides the user (a login, before it is in the session)."""
    from flask import has_request_context

    context = {"user_id": None, "user_role": None, "user_area_id": None}
    if has_request_context():
        from flask import request
        from flask_login import current_user

        if user is None and current_user and current_user.is_authenticated:
            user = current_user._get_current_object()
        context.update(
            request_id=_request_id(),
            ip=(request.remote_addr or "")[:64] or None,
            source=request.path[:200],
        )
    else:
        command = _command.get()
        if command is not None:
            context["source"] = f"flask {command['command']}"[:200]
            if user is None and command.get("username") and connection is not None:
                found = connection.execute(
                    select(User.id, User.role, User.area_id).where(
                        User.username == command["username"]
                    )
                ).first()
                if found is not None:
                    context.update(
                        user_id=found.id, user_role=found.role, user_area_id=found.area_id
                    )
    imported = _import.get()
    if imported is not None:
        context["source"] = f"import #{imported['import_id']}: {imported['file_name']}"[:200]
        if user is None and context["user_id"] is None and connection is not None:
            found = connection.execute(
                select(User.id, User.role, User.area_id).where(User.id == imported["user_id"])
            ).first()
            if found is not None:
                context.update(user_id=found.id, user_role=found.role, user_area_id=found.area_id)
    if user is not None:
        state = inspect(user).dict  # never load inside a flush
        context.update(
            user_id=state.get("id"), user_role=state.get("role"), user_area_id=state.get("area_id")
        )
    return context


@event.listens_for(Mapper, "mapper_configured")
def _keep_old_values(mapper, class_) -> None:
    """Setting a column of an expired object (any object after a commit) loads its
    stored value first, so the trail knows the old value, not only the new one."""
    if class_ is AuditEvent:
        return
    for attr in mapper.column_attrs:
        if attr.key not in SKIPPED_COLUMNS:
            event.listen(getattr(class_, attr.key), "set", _noop, active_history=True)


def _noop(*_args) -> None:
    return None


# ------------------------------------------------------------------ values
def jsonable(value):
    """A value as JSON holds it: text for amounts, dates and enums."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def personal_columns_of(model) -> dict[str, str]:
    table = getattr(model, "__tablename__", "")
    return {**PERSONAL_COLUMNS.get(table, {}), **getattr(model, "__personal__", {})}


def stored_value(kind: str | None, value):
    """What the trail keeps of ``value``: masked for a personal column."""
    if value is None or value == "":
        return jsonable(value)
    if kind is not None:
        return MASKERS[kind](str(value))
    return jsonable(value)


def _ids(objects) -> list:
    return sorted(inspect(o).mapper.primary_key_from_instance(o)[0] or 0 for o in objects)


def _changes(obj, kind_of_write: str) -> dict:
    state = inspect(obj)
    mapper = state.mapper
    personal = personal_columns_of(mapper.class_)
    changes: dict[str, list] = {}
    for attr in mapper.column_attrs:
        key = attr.key
        if key in SKIPPED_COLUMNS:
            continue
        if kind_of_write == "create":
            old, new, changed = None, state.dict.get(key), state.dict.get(key) is not None
        elif kind_of_write == "delete":
            old, new, changed = state.dict.get(key), None, state.dict.get(key) is not None
        else:
            history = state.attrs[key].history
            changed = history.has_changes()
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
        if changed and old != new:
            kind = personal.get(key)
            changes[key] = [stored_value(kind, old), stored_value(kind, new)]
    # many-to-many collections (categories, areas served, sponsors): the ids
    for rel in mapper.relationships:
        if rel.secondary is None or rel.viewonly or kind_of_write == "delete":
            continue
        # one attribute's history (``state.attrs`` would build every attribute's)
        history = AttributeState(state, rel.key).history
        if history.added or history.deleted:
            old = [] if kind_of_write == "create" else _ids([*history.unchanged, *history.deleted])
            changes[rel.key] = [old, _ids([*history.unchanged, *history.added])]
    return changes


def _action_for(kind_of_write: str, changes: dict) -> str:
    archived = changes.get("archived_at")
    if kind_of_write == "update" and archived is not None:
        return "archive" if archived[0] is None else "restore" if archived[1] is None else "update"
    return kind_of_write


def _street_of(obj) -> int | None:
    if isinstance(obj, Area):
        return obj.id if obj.level == "street" else obj.parent_id
    value = inspect(obj).dict.get("street_id")
    return value if isinstance(value, int) else None


def household_id_of(obj) -> int | None:
    """The household ``obj`` is, or belongs to (None: not a household's record)."""
    state = inspect(obj).dict  # never load inside a flush
    key = "id" if getattr(obj, "__tablename__", None) == "households" else "household_id"
    value = state.get(key)
    return value if isinstance(value, int) else None


def _is_audited(obj) -> bool:
    """Every record but the trail itself and tables that say ``__audited__ = False``
    (an import batch: its progress counter is not a record of anyone's)."""
    return not isinstance(obj, AuditEvent) and getattr(obj, "__audited__", True)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context) -> None:
    """Adds one audit row per created, changed or deleted record, on the flush's own
    connection: same transaction, same fate."""
    rows = []
    for kind_of_write, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not _is_audited(obj):
                continue
            changes = _changes(obj, kind_of_write)
            if kind_of_write == "update" and not changes:
                continue  # nothing but relationships or the row's own who/when changed
            rows.append(
                {
                    "action": _action_for(kind_of_write, changes),
                    "record_type": obj.__tablename__,
                    "record_id": inspect(obj).mapper.primary_key_from_instance(obj)[0],
                    "street_id": _street_of(obj),
                    "household_id": household_id_of(obj),
                    "changes": changes,
                }
            )
    if not rows:
        return
    connection = session.connection()
    context = acting_context(connection)
    now = utcnow()
    connection.execute(
        AuditEvent.__table__.insert(),
        [{**context, "occurred_at": now, "detail": _import_detail(), **row} for row in rows],
    )


# ------------------------------------------------------------ immutability
class AuditPurge(db.Model):
    """One purge of old events past the retention (``flask audit-retention --purge
    --confirm``): who, when, which events (``id <= last_id`` and older than
    ``occurred_before``), how many, and the file they were exported to first, with
    its SHA-256.

    The only way an event is ever deleted: the triggers refuse a DELETE of an event
    no purge row covers, and purge rows themselves cannot be changed or deleted, so a
    purge is never silent. The covered set is exactly what the purge deleted (later
    events have larger ids), so a purge row permits nothing once it is done."""

    __tablename__ = "audit_purges"

    id: Mapped[int] = mapped_column(primary_key=True)
    purged_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: who ran it (``--user``), when known
    user_id: Mapped[int | None] = mapped_column(Integer)
    #: events that occurred before this moment (UTC) ...
    occurred_before: Mapped[dt.datetime] = mapped_column(DateTime)
    #: ... and whose id is at most this one
    last_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    rows: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    #: where they were exported (JSON lines), and its checksum
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))


AUDIT_IMMUTABLE_MESSAGE = "audit_events rows are immutable"
#: a DELETE of an event is allowed only when a purge row covers it
_PURGE_COVERS = (
    "EXISTS (SELECT 1 FROM audit_purges p"
    " WHERE OLD.id <= p.last_id AND OLD.occurred_at < p.occurred_before)"
)
SQLITE_AUDIT_TRIGGERS = [
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, '{AUDIT_IMMUTABLE_MESSAGE}'); END",
    f"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events WHEN NOT {_PURGE_COVERS} "
    f"BEGIN SELECT RAISE(ABORT, '{AUDIT_IMMUTABLE_MESSAGE}'); END",
]
POSTGRESQL_AUDIT_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP = 'DELETE' AND {_PURGE_COVERS} THEN RETURN OLD; END IF; "
    f"RAISE EXCEPTION '{AUDIT_IMMUTABLE_MESSAGE}' USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "CREATE TRIGGER audit_events_immutable BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_immutable()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_immutable()",
]
PURGES_IMMUTABLE_MESSAGE = "audit_purges rows are immutable"
SQLITE_PURGE_TRIGGERS = [
    f"CREATE TRIGGER audit_purges_no_{op.lower()} BEFORE {op} ON audit_purges "
    f"BEGIN SELECT RAISE(ABORT, '{PURGES_IMMUTABLE_MESSAGE}'); END"
    for op in ("UPDATE", "DELETE")
]
POSTGRESQL_PURGE_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_purges_immutable() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{PURGES_IMMUTABLE_MESSAGE}' USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "CREATE TRIGGER audit_purges_immutable BEFORE UPDATE OR DELETE ON audit_purges "
    "FOR EACH ROW EXECUTE FUNCTION audit_purges_immutable()",
    "CREATE TRIGGER audit_purges_no_truncate BEFORE TRUNCATE ON audit_purges "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_purges_immutable()",
]
for _table, _sqlite, _postgresql in (
    (AuditEvent.__table__, SQLITE_AUDIT_TRIGGERS, POSTGRESQL_AUDIT_TRIGGERS),
    (AuditPurge.__table__, SQLITE_PURGE_TRIGGERS, POSTGRESQL_PURGE_TRIGGERS),
):
    for _statement in _sqlite:
        event.listen(_table, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
    for _statement in _postgresql:
        event.listen(_table, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
