"""The audit trail underneath: every write through the session adds its row in the same
transaction, personal values are stored masked, the table cannot be edited (nor the
ledger truncated), and history reads follow the record's scope."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Household, User
from app.services import audit, casework
from app.validation import mask_id_number, mask_phone
from tests.conftest import config_for
from tests.factories import make_fund, make_household, make_member, make_user


def events(record_type=None, record_id=None, action=None):
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    if record_type:
        stmt = stmt.where(AuditEvent.record_type == record_type)
    if record_id is not None:
        stmt = stmt.where(AuditEvent.record_id == record_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


def test_create_update_delete_each_write_their_row(world):
    household = make_household(world.community, head_phone="13912345678")
    member = make_member(household, name="张三")
    db.session.commit()
    created = events("households", household.id, "create")
    assert len(created) == 1
    assert created[0].street_id == world.street.id
    assert created[0].changes["head_name"] == [None, household.head_name]

    household.address = "新地址1号"
    db.session.commit()
    (changed,) = events("households", household.id, "update")
    assert changed.changes == {"address": [created[0].changes["address"][1], "新地址1号"]}

    db.session.delete(member)
    db.session.commit()
    (deleted,) = events("household_members", member.id, "delete")
    assert deleted.changes["name"] == ["张三", None]


def test_personal_values_are_stored_masked(world):
    household = make_household(world.community, head_phone="13912345678")
    db.session.commit()
    number = household.head_id_number
    household.head_phone = "13800001111"
    household.monthly_income = 1234
    db.session.commit()
    rows = events("households", household.id)
    stored = str([e.changes for e in rows])
    assert number not in stored and "13912345678" not in stored and "13800001111" not in stored
    assert "1234" not in stored
    assert rows[0].changes["head_id_number"] == [None, mask_id_number(number)]
    assert rows[-1].changes["head_phone"] == [mask_phone("13912345678"), mask_phone("13800001111")]
    assert rows[-1].changes["monthly_income"] == [None, "***"]


def test_an_unchanged_save_writes_nothing(world):
    household = make_household(world.community)
    db.session.commit()
    before = len(events())
    household.address = household.address
    db.session.commit()
    assert len(events()) == before


def test_a_failing_write_leaves_no_audit_row(world):
    before = len(events())
    make_user("street_clerk", area=world.street, username="dup-name")
    make_user_unflushed = User(
        username="dup-name", full_name="重名", role="street_clerk", area=world.street
    )
    make_user_unflushed.password_hash = "x"
    db.session.add(make_user_unflushed)  # unique username: the database refuses
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert len(events()) == before
    assert not events("users")[len(events("users")) :]


def test_a_rolled_back_transaction_takes_its_rows_with_it(world):
    before = len(events())
    make_household(world.community)  # flushed, so its row is written ...
    db.session.rollback()  # ... and gone with it
    assert len(events()) == before


def test_a_service_call_is_recorded_as_its_user(world):
    household = make_household(world.community)
    db.session.commit()
    casework.transition_case(household, "closed", user=world.worker, note="家庭已搬离")
    db.session.commit()
    (moved,) = events("households", household.id, "update")
    assert moved.changes["status"] == ["registered", "closed"]
    assert moved.user_id is None  # a service outside a request: the caller's context
    assert events("case_transitions", action="create")


def test_a_cli_command_is_recorded_with_its_command_and_user(app, world):
    household = make_household(world.community)
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=[
            "case-status",
            str(household.id),
            "closed",
            "--user",
            world.worker.username,
            "--note",
            "家庭已搬离",
        ]
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    (moved,) = events("households", household.id, "update")
    assert moved.source == "flask case-status"
    assert (moved.user_id, moved.user_role) == (world.worker.id, "community_worker")


def test_archive_and_restore_are_named_so(world):
    household = make_household(world.community)
    db.session.commit()
    if not hasattr(Household, "archived_at"):
        pytest.skip("archiving is not in this checkout yet")
    from app.models.base import utcnow

    household.archived_at, household.archive_reason = utcnow(), "误录"
    db.session.commit()
    household.archived_at = None
    db.session.commit()
    actions = [e.action for e in events("households", household.id)]
    assert actions[-2:] == ["archive", "restore"]


ATTEMPTS = [
    "UPDATE audit_events SET action = 'x'",
    "DELETE FROM audit_events",
    "DELETE FROM audit_events WHERE id = (SELECT MIN(id) FROM audit_events)",
]


@pytest.mark.parametrize("statement", ATTEMPTS)
def test_the_triggers_refuse_to_edit_the_trail(world, statement):
    before = db.session.execute(select(AuditEvent.id, AuditEvent.action)).all()
    assert before
    with pytest.raises(DBAPIError, match="immutable"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.execute(select(AuditEvent.id, AuditEvent.action)).all() == before


@pytest.mark.parametrize("table", ["audit_events", "fund_ledger"])
def test_postgresql_refuses_truncate(backend, world, table):
    if backend.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    make_fund(world)
    db.session.commit()
    count = db.session.scalar(text(f"SELECT count(*) FROM {table}"))
    assert count
    for statement in (f"TRUNCATE {table} CASCADE", "TRUNCATE audit_events"):
        with pytest.raises(DBAPIError, match="immutable"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(text(f"SELECT count(*) FROM {table}")) == count


def test_the_migrations_make_the_table_and_its_triggers(backend):
    url = backend.fresh_empty()
    application = create_app(config_for(url))
    with application.app_context():
        upgrade(directory=str(Path(__file__).resolve().parents[2] / "migrations"))
        db.session.execute(
            text("INSERT INTO audit_events (occurred_at, action) VALUES ('2026-01-01', 'login')")
        )
        db.session.commit()
        statements = ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"]
        if backend.name == "postgresql":
            statements += ["TRUNCATE audit_events", "TRUNCATE fund_ledger CASCADE"]
        for statement in statements:
            with pytest.raises(DBAPIError, match="immutable"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.scalar(text("SELECT count(*) FROM audit_events")) == 1
        db.session.remove()
        db.engine.dispose()
    backend.drop(url)


def test_history_follows_the_records_scope(world):
    household = make_household(world.community)
    db.session.commit()
    household.address = "改过的地址"
    db.session.commit()
    assert audit.history(household, world.far_clerk) is None
    assert audit.history(household, world.sponsor) is None
    entries = audit.history(household, world.clerk)
    assert [e.event.action for e in entries] == ["update", "create"]
    assert audit.history(household, world.manager) is not None


def test_a_reveal_is_refused_to_who_may_not_see_and_recorded_for_who_may(world):
    household = make_household(world.community, head_phone="13912345678")
    db.session.commit()
    assert audit.reveal(household, "head_phone", household=household, user=world.manager) is None
    assert audit.reveal(household, "notes", household=household, user=world.clerk) is None
    assert not events(action="reveal")
    value = audit.reveal(household, "head_phone", household=household, user=world.clerk)
    assert value == "13912345678"
    (revealed,) = events(action="reveal")
    assert (revealed.user_id, revealed.record_id) == (world.clerk.id, household.id)
    assert revealed.detail == {"field": "head_phone"}
