"""Retention of the audit trail: kept for ever unless AUDIT_RETENTION_DAYS says
otherwise; ``flask audit-retention`` reports what is older and deletes only with
``--purge --confirm``, after exporting it to a file, recorded as an immutable purge —
the one DELETE of events the triggers let through, and only for what it exported."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.extensions import db
from app.models import AuditEvent
from app.models.audit import AuditPurge
from app.models.base import utcnow


def _event(days_ago: int, action="update", **values) -> AuditEvent:
    row = AuditEvent(
        action=action,
        occurred_at=utcnow() - dt.timedelta(days=days_ago),
        record_type="households",
        record_id=1,
        changes={"address": ["旧", "新"]},
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def aged(app):
    old = [_event(400), _event(380, action="login"), _event(370)]
    new = [_event(10), _event(0)]
    db.session.commit()
    return [e.id for e in old], [e.id for e in new]


def _ids() -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(AuditEvent.id)))


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["audit-retention", *args])


def test_without_a_retention_the_trail_is_kept_for_ever(app, aged):
    app.config["AUDIT_RETENTION_DAYS"] = None
    before = _ids()
    result = _run(app)
    assert result.exit_code == 0 and "kept for ever" in result.output
    result = _run(app, "--purge", "--confirm")
    assert result.exit_code != 0
    assert _ids() == before


def test_the_report_says_what_is_older_and_deletes_nothing(app, aged):
    old, _new = aged
    app.config["AUDIT_RETENTION_DAYS"] = 365
    before = _ids()
    result = _run(app)
    assert result.exit_code == 0, result.output
    assert f"{len(old)} events occurred before" in result.output
    assert "login: 1" in result.output and "update: 2" in result.output
    assert _ids() == before
    refused = _run(app, "--purge")
    assert refused.exit_code != 0 and "--confirm" in refused.output
    assert _ids() == before


def test_purge_exports_then_deletes_exactly_the_old_events(app, aged, world, tmp_path):
    old, new = aged
    app.config["AUDIT_RETENTION_DAYS"] = 365
    out = tmp_path / "purged.jsonl"
    result = _run(app, "--purge", "--confirm", "--out", str(out), "--user", world.admin.username)
    assert result.exit_code == 0, result.output
    lines = out.read_bytes().splitlines()
    assert [json.loads(line)["id"] for line in lines] == old
    assert json.loads(lines[0])["changes"] == {"address": ["旧", "新"]}
    remaining = _ids()
    assert not remaining & set(old) and set(new) <= remaining
    (purge,) = db.session.scalars(select(AuditPurge))
    assert (purge.rows, purge.last_id, purge.user_id) == (len(old), max(old), world.admin.id)
    assert purge.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert purge.file_name == str(out)
    # the purge is itself in the trail, as done by the command and its user
    (recorded,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.record_type == "audit_purges")
    )
    assert (recorded.action, recorded.source, recorded.user_id) == (
        "create",
        "flask audit-retention",
        world.admin.id,
    )
    # an existing file is never overwritten
    again = _run(app, "--purge", "--confirm", "--out", str(out))
    assert again.exit_code != 0


def _refused():
    return pytest.raises((IntegrityError, DBAPIError))


def test_a_purge_row_permits_nothing_beyond_what_it_deleted(app, aged, tmp_path):
    old, new = aged
    app.config["AUDIT_RETENTION_DAYS"] = 365
    assert _run(app, "--purge", "--confirm", "--out", str(tmp_path / "p.jsonl")).exit_code == 0
    # an old-dated event written after the purge is not covered by it (a later id)
    late = _event(500).id
    db.session.commit()
    for statement in (
        f"DELETE FROM audit_events WHERE id = {late}",
        f"DELETE FROM audit_events WHERE id = {new[0]}",
        "UPDATE audit_purges SET rows = 0",
        "DELETE FROM audit_purges",
    ):
        with _refused():
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
    assert {late, *new} <= _ids()


def test_old_events_cannot_be_deleted_without_a_purge(app, aged):
    old, _new = aged
    with _refused():
        db.session.execute(text(f"DELETE FROM audit_events WHERE id = {old[0]}"))
    db.session.rollback()
    assert set(old) <= _ids()


def test_truncating_the_purges_is_refused_on_postgresql(app, backend, aged, tmp_path):
    if backend.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    with _refused():
        db.session.execute(text("TRUNCATE audit_purges"))
    db.session.rollback()
