"""The import's commit at speed (app/services/imports/households.py ``apply``): one
flush per chunk of households, the chunk's ID numbers looked up set-based before it
(``KnownUnregistered`` in app/models/household.py), and the registered-once rule as
strong as ever: pending duplicates, numbers already saved and numbers saved meanwhile
by another transaction (the unique index) are all still refused."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import AuditEvent, Household, Member
from app.models.household import (
    KNOWN_UNREGISTERED,
    DuplicateRegistration,
    KnownUnregistered,
)
from app.services import imports
from app.services.imports import households as module
from tests.factories import make_household, make_member, new_id_number
from tests.services.test_imports import household_row, run, xlsx


def _new_household(world, number):
    return Household(
        head_name="李四",
        head_id_number=number,
        address="和平路2号",
        intake_channel="self_request",
        community=world.community,
    )


def test_a_pending_duplicate_is_refused_with_the_look_up_cache(app, world):
    number = new_id_number()
    db.session.info[KNOWN_UNREGISTERED] = KnownUnregistered({number})
    try:
        first = _new_household(world, number)
        second = _new_household(world, number)
        db.session.add_all([first, second])
        with pytest.raises(DuplicateRegistration):
            db.session.flush()
    finally:
        db.session.info.pop(KNOWN_UNREGISTERED, None)
        db.session.rollback()


def test_a_member_pending_with_a_head_number_is_refused_with_the_cache(app, world):
    number = new_id_number()
    household = make_household(world.community)
    db.session.commit()
    db.session.info[KNOWN_UNREGISTERED] = KnownUnregistered({number})
    try:
        db.session.add(_new_household(world, number))
        household.members.append(Member(name="王五", relation="child", id_number=number))
        with pytest.raises(DuplicateRegistration):
            db.session.flush()
    finally:
        db.session.info.pop(KNOWN_UNREGISTERED, None)
        db.session.rollback()


def test_a_saved_number_not_in_the_cache_is_still_looked_up(app, world):
    household = make_household(world.community)
    member = make_member(household)
    db.session.commit()
    db.session.info[KNOWN_UNREGISTERED] = KnownUnregistered({new_id_number()})
    try:
        db.session.add(_new_household(world, member.id_number))
        with pytest.raises(DuplicateRegistration):
            db.session.flush()
    finally:
        db.session.info.pop(KNOWN_UNREGISTERED, None)
        db.session.rollback()


def test_a_number_saved_meanwhile_is_stopped_by_the_unique_index(app, world):
    """The cache claims a number free that is in fact saved (as by another
    transaction after the look-up): the database's unique index refuses it."""
    household = make_household(world.community)
    db.session.commit()
    db.session.info[KNOWN_UNREGISTERED] = KnownUnregistered({household.head_id_number})
    try:
        db.session.add(_new_household(world, household.head_id_number))
        with pytest.raises(IntegrityError) as raised:
            db.session.flush()
        assert (
            "head_id_number" in str(raised.value.orig) or "unique" in str(raised.value.orig).lower()
        )
    finally:
        db.session.info.pop(KNOWN_UNREGISTERED, None)
        db.session.rollback()


def test_the_cache_is_gone_after_the_commit_and_after_a_failed_flush(app, world, monkeypatch):
    batch = run(world.clerk, xlsx([household_row(world) for _ in range(5)]))
    imports.request_commit(batch, user=world.clerk, mode="all")
    assert KNOWN_UNREGISTERED not in db.session.info
    batch = run(world.clerk, xlsx([household_row(world) for _ in range(5)]))
    real_flush = db.session.flush

    def failing_flush(*args, **kwargs):
        assert isinstance(db.session.info.get(KNOWN_UNREGISTERED), KnownUnregistered)
        raise RuntimeError("disk full")

    monkeypatch.setattr(module.db.session, "flush", failing_flush)
    with pytest.raises(RuntimeError):
        imports.request_commit(batch, user=world.clerk, mode="all")
    monkeypatch.setattr(module.db.session, "flush", real_flush)
    db.session.rollback()
    assert KNOWN_UNREGISTERED not in db.session.info


def test_a_commit_costs_a_few_statements_per_chunk_not_per_person(app, world):
    """450 households and 150 members: no per-person look-up of the ID number and
    one flush per chunk (the SQLite inserts are one statement a row; PostgreSQL's are
    batched), every record still with its audit row."""
    rows = []
    for i in range(450):
        rows.append(household_row(world))
        if i % 3 == 0:
            rows.append(
                household_row(
                    world,
                    number=rows[-1][1],
                    **{"成员姓名": "成员", "与户主关系": "子女", "成员身份证号": new_id_number()},
                )
            )
    batch = run(world.clerk, xlsx(rows))
    assert batch.status == "checked" and batch.counts["new"] == 600
    statements = []
    engine = db.engine

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        batch = imports.request_commit(batch, user=world.clerk, mode="all")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert batch.status == "committed", batch.message
    assert db.session.scalar(select(func.count(Household.id))) == 450
    assert db.session.scalar(select(func.count(Member.id))) == 150
    assert db.session.scalar(select(func.count(AuditEvent.id))) >= 600
    single_look_ups = [
        s
        for s in statements
        if s.lstrip().startswith("SELECT")
        and ("households.head_id_number = " in s or "household_members.id_number = " in s)
    ]
    assert single_look_ups == []
    selects = [s for s in statements if s.lstrip().startswith("SELECT")]
    assert len(selects) < 100, len(selects)
