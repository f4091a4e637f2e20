"""Every way in writes its audit row — proven by walking the views and the commands.

For every admin model view (the same walk as ``test_every_form_works``: a new view is
covered by itself, from its entry in ``TEMPLATES``), as the district administrator:

- *create*: the create form saved adds one ``create`` event for the new record, whose
  changes are the record's own values (masked where personal);
- *edit*: the edit form saved with a typed change adds an ``update`` event with that
  field's old → new;
- *inline*: the list's inline edit (``column_editable_list``) and the form's inline
  rows (``inline_models``: a household's members) record theirs;
- *bulk action*: every action of the list, on a selected record;
- *archive*: the details page's archive;

each event saying who (user, role), from where (path, request id) and what (record,
old → new). The rule checked is one for all: whatever columns of the record changed
are in the new events, with the values they had and have, and nothing is recorded for
a record that did not change. And a write that fails after its rows were flushed (a
conflict at commit) leaves no audit row behind.

The CLI commands that write are walked the same way (``COMMANDS``): a new command
fails ``test_every_command_is_walked`` until it says what it writes.
"""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import event, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import AuditEvent, User
from app.models.audit import SKIPPED_COLUMNS, personal_columns_of, stored_value
from tests.admin.test_every_form_works import (
    TEMPLATES,
    VIEW_ENDPOINTS,
    fill_create_only_fields,
    made_new,
    read_form,
    situation,
    view_named,
)
from tests.factories import make_assessment, make_household

_serial = itertools.count(1)
#: fields a person types free text in, tried in this order for the edit walk
TEXT_FIELDS = ("notes", "description", "address", "name", "full_name", "purpose", "findings")


def _view_actions() -> list[tuple[str, str]]:
    from app import create_app
    from app.admin.base import ScopedModelView
    from config import TestConfig

    app = create_app(TestConfig)
    return [
        (v.endpoint, name)
        for v in app.extensions["admin"][0]._views
        if isinstance(v, ScopedModelView)
        for name, _label in v._actions
    ]


VIEW_ACTIONS = _view_actions()


# ------------------------------------------------------------- the rule
def _marker() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def _new_events(since: int, **where) -> list[AuditEvent]:
    db.session.expire_all()
    stmt = select(AuditEvent).where(AuditEvent.id > since).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def _columns(model, record_id) -> dict | None:
    db.session.expire_all()
    row = db.session.get(model, record_id)
    if row is None:
        return None
    mapper = sa_inspect(model)
    stored = set(model.__table__.columns)
    return {  # the table's own columns (not column_property expressions)
        a.key: getattr(row, a.key)
        for a in mapper.column_attrs
        if a.key not in SKIPPED_COLUMNS and a.columns[0] in stored
    }


def _blank(value):
    return None if value == "" else value


def assert_recorded(model, record_id, before: dict, since: int, user) -> list[AuditEvent]:
    """The events since ``since`` for this record say exactly what changed in it, and
    who changed it from where. Returns them."""
    after = _columns(model, record_id)
    found = _new_events(since, record_type=model.__tablename__, record_id=record_id)
    for e in found:
        assert (e.user_id, e.user_role) == (user.id, user.role), e
        assert e.source and e.source.startswith("/admin/") and e.request_id, e
    if after is None:
        assert [e.action for e in found] == ["delete"], found
        return found
    changed = {k for k in before if _blank(before[k]) != _blank(after[k])}
    writes = [e for e in found if e.changes]
    if not changed:
        assert not writes, f"nothing changed, yet recorded: {[e.changes for e in writes]}"
        return found
    personal = personal_columns_of(model)
    recorded = {k for e in writes for k in e.changes}
    assert changed <= recorded, f"changed {sorted(changed)}, recorded {sorted(recorded)}"
    for key in changed:
        pairs = [e.changes[key] for e in writes if key in e.changes]
        kind = personal.get(key)
        assert pairs[0][0] == stored_value(kind, before[key]), (key, pairs)
        assert pairs[-1][1] == stored_value(kind, after[key]), (key, pairs)
    return found


def _record_and_client(app, world, login, endpoint):
    view = view_named(app, endpoint)
    if view.model not in TEMPLATES:
        pytest.fail(f"add a template record for {view.model.__name__} to TEMPLATES")
    if TEMPLATES[view.model] is None:
        pytest.skip("read-only view")
    record = TEMPLATES[view.model](world)
    db.session.commit()
    return view, record, login(world.admin)


def _token(client, endpoint) -> str:
    page = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return found.group(1) if found else ""


# ------------------------------------------------------------- create
@pytest.mark.parametrize("endpoint", VIEW_ENDPOINTS)
def test_create_is_recorded(app, world, login, endpoint):
    view, template, client = situation(app, world, login, endpoint, "district_admin", "create")
    edit_page = client.get(f"/admin/{endpoint}/edit/?id={template.id}")
    known = dict(read_form(edit_page.get_data(as_text=True)).fields)
    blank = read_form(client.get(f"/admin/{endpoint}/new/").get_data(as_text=True))
    fields = [(name, known.get(name, value)) for name, value in blank.fields]
    fields = made_new(view.model, fill_create_only_fields(template, fields))
    since = _marker()
    response = client.post(f"/admin/{endpoint}/new/", data=MultiDict(fields))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    created = _new_events(since, action="create", record_type=view.model.__tablename__)
    assert len(created) == 1, created
    (event_,) = created
    assert (event_.user_id, event_.user_role) == (world.admin.id, "district_admin")
    assert event_.source == f"/admin/{endpoint}/new/" and event_.request_id
    values = _columns(view.model, event_.record_id)
    personal = personal_columns_of(view.model)
    # a value the database fills in (a server default) is not part of the write
    by_default = {c.key for c in view.model.__table__.columns if c.server_default is not None}
    for key, value in values.items():
        if _blank(value) is not None and key not in by_default:
            assert event_.changes.get(key) == [None, stored_value(personal.get(key), value)], key


# ------------------------------------------------------------- edit
@pytest.mark.parametrize("endpoint", VIEW_ENDPOINTS)
def test_edit_is_recorded_with_old_and_new(app, world, login, endpoint):
    view, record, client = situation(app, world, login, endpoint, "district_admin", "edit")
    page = client.get(f"/admin/{endpoint}/edit/?id={record.id}")
    fields = read_form(page.get_data(as_text=True)).fields
    names = [n for n, _v in fields]
    changed = next((n for n in TEXT_FIELDS if n in names), None)
    if changed is None:
        pytest.skip("no free-text field to change")
    fields = [(k, f"{v}改{next(_serial)}" if k == changed else v) for k, v in fields]
    before = _columns(view.model, record.id)
    since = _marker()
    response = client.post(f"/admin/{endpoint}/edit/?id={record.id}", data=MultiDict(fields))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    found = assert_recorded(view.model, record.id, before, since, world.admin)
    assert any(changed in (e.changes or {}) and e.action == "update" for e in found)


# ------------------------------------------------------------- inline
def _editable_columns():
    from app import create_app
    from app.admin.base import ScopedModelView
    from config import TestConfig

    app = create_app(TestConfig)
    return [
        (v.endpoint, column)
        for v in app.extensions["admin"][0]._views
        if isinstance(v, ScopedModelView)
        for column in (v.column_editable_list or ())
    ]


@pytest.mark.parametrize(("endpoint", "column"), _editable_columns())
def test_inline_edit_is_recorded(app, world, login, endpoint, column):
    view, record, client = _record_and_client(app, world, login, endpoint)
    current = getattr(record, column)
    options = [value for value, _label in view.choices.get(column, ())]
    if isinstance(current, bool):
        options = [not current]
    other = next((o for o in options if o != current), None)
    if other is None:
        pytest.skip(f"no other value to set {column} to")
    before = _columns(view.model, record.id)
    since = _marker()
    response = client.post(
        f"/admin/{endpoint}/ajax/update/",
        data={"list_form_pk": record.id, column: other, "csrf_token": _token(client, endpoint)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    found = assert_recorded(view.model, record.id, before, since, world.admin)
    assert any(column in (e.changes or {}) for e in found)


def _inline_model_views():
    from app import create_app
    from app.admin.base import ScopedModelView
    from config import TestConfig

    app = create_app(TestConfig)
    return [
        v.endpoint
        for v in app.extensions["admin"][0]._views
        if isinstance(v, ScopedModelView) and v.inline_models
    ]


@pytest.mark.parametrize("endpoint", _inline_model_views())
def test_an_inline_row_is_recorded(app, world, login, endpoint):
    """One more inline row (a copy of the first, its unique values made new) saved
    through the parent's edit form: its own create event, as the user who saved."""
    view, record, client = situation(app, world, login, endpoint, "district_admin", "edit")
    page = client.get(f"/admin/{endpoint}/edit/?id={record.id}").get_data(as_text=True)
    fields = read_form(page).fields
    rows = {m.group(1) for k, _v in fields if (m := re.match(r"^(\w+)-(\d+)-id$", k))}
    if not rows:
        pytest.skip("the template record has no inline row to copy")
    prefix = sorted(rows)[0]
    copied = []
    for key, value in fields:
        m = re.match(rf"^{prefix}-0-(\w+)$", key)
        if m and m.group(1) != "id":
            copied.append((f"{prefix}-99-{m.group(1)}", value))
    copied = made_new(view.model, copied)
    since = _marker()
    response = client.post(
        f"/admin/{endpoint}/edit/?id={record.id}", data=MultiDict(fields + copied)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    created = [e for e in _new_events(since, action="create") if e.record_type != "households"]
    assert len(created) == 1, created
    assert (created[0].user_id, created[0].source) == (
        world.admin.id,
        f"/admin/{endpoint}/edit/",
    )


# ------------------------------------------------------------- bulk actions
@pytest.mark.parametrize(("endpoint", "action"), VIEW_ACTIONS)
def test_each_bulk_action_is_recorded(app, world, login, endpoint, action):
    view, record, client = _record_and_client(app, world, login, endpoint)
    with app.test_request_context():
        from flask_login import login_user

        login_user(world.admin)
        if not view.is_action_allowed(action):
            pytest.skip("this view does not offer the action")
    before = _columns(view.model, record.id)
    since = _marker()
    response = client.post(
        f"/admin/{endpoint}/action/",
        data={
            "action": action,
            "rowid": [str(record.id)],
            "reason": "批量操作测试",
            "csrf_token": _token(client, endpoint),
        },
    )
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    assert_recorded(view.model, record.id, before, since, world.admin)


# ------------------------------------------------------------- archive
@pytest.mark.parametrize("endpoint", VIEW_ENDPOINTS)
def test_archive_is_recorded(app, world, login, endpoint):
    view, record, client = _record_and_client(app, world, login, endpoint)
    if not view.is_archivable or not view.allow_edit:
        pytest.skip("not archived through this view")
    before = _columns(view.model, record.id)
    since = _marker()
    response = client.post(
        f"/admin/{endpoint}/archive/?id={record.id}",
        data={"reason": "归档测试", "csrf_token": _token(client, endpoint)},
    )
    assert response.status_code == 302
    found = assert_recorded(view.model, record.id, before, since, world.admin)
    assert [e.action for e in found if e.changes] == ["archive"]
    assert found[0].changes["archive_reason"] == [None, "归档测试"]


# ------------------------------------------------------------- failures
@pytest.fixture
def failing_commit():
    """Every flush succeeds (its audit rows are written) and then the commit fails,
    as a conflict found at commit would."""

    def fail(session, _context):
        raise IntegrityError("simulated conflict at commit", None, Exception("conflict"))

    event.listen(Session, "after_flush_postexec", fail)
    yield
    event.remove(Session, "after_flush_postexec", fail)


@pytest.mark.parametrize("endpoint", VIEW_ENDPOINTS)
def test_a_failed_create_or_edit_leaves_no_audit_row(app, world, login, endpoint, request):
    view, record, client = situation(app, world, login, endpoint, "district_admin", "edit")
    page = client.get(f"/admin/{endpoint}/edit/?id={record.id}")
    fields = read_form(page.get_data(as_text=True)).fields
    names = [n for n, _v in fields]
    changed = next((n for n in TEXT_FIELDS if n in names), None)
    if changed is not None:
        fields = [(k, f"{v}改" if k == changed else v) for k, v in fields]
    before = _columns(view.model, record.id)
    count = db.session.scalar(select(func.count()).select_from(view.model))
    since = _marker()
    request.getfixturevalue("failing_commit")
    client.post(f"/admin/{endpoint}/edit/?id={record.id}", data=MultiDict(fields))
    new_page = client.get(f"/admin/{endpoint}/new/")
    if new_page.status_code == 200:
        blank = read_form(new_page.get_data(as_text=True)).fields
        known = dict(fields)
        filled = [(n, known.get(n, v)) for n, v in blank]
        client.post(
            f"/admin/{endpoint}/new/",
            data=MultiDict(made_new(view.model, fill_create_only_fields(record, filled))),
        )
    assert _new_events(since) == []
    assert _columns(view.model, record.id) == before
    assert db.session.scalar(select(func.count()).select_from(view.model)) == count


# ------------------------------------------------------------- the CLI
def _household(world):
    household = make_household(world.community)
    make_assessment(household)
    db.session.commit()
    return household


#: command → (a scenario: world → args, the table its writes go to); None: writes no
#: record (reads, or works on files and queues only)
COMMANDS = {
    "add-area": (
        lambda w: (
            ["add-area", "--name", f"新社区{next(_serial)}", "--level", "community"]
            + ["--parent", w.street.name]
        ),
        "areas",
    ),
    "create-user": (
        lambda w: (
            ["create-user", "--username", f"cli{next(_serial)}", "--full-name", "命令行"]
            + ["--role", "street_clerk", "--area", w.street.name, "--password", "Yaohai-Cli-2026!"]
        ),
        "users",
    ),
    "reset-password": (
        lambda w: (
            ["reset-password", "--username", w.worker.username]
            + ["--password", "Yaohai-Reset-2026!"]
        ),
        "users",
    ),
    "deactivate-user": (lambda w: ["deactivate-user", "--username", w.worker.username], "users"),
    "unlock-user": (lambda w: ["unlock-user", "--username", _locked(w).username], "users"),
    "case-status": (
        lambda w: (
            ["case-status", str(_household(w).id), "closed", "--user", w.worker.username]
            + ["--note", "家庭已搬离"]
        ),
        "households",
    ),
    "archive": (
        lambda w: (
            ["archive", "household", str(_household(w).id), "--user", w.worker.username]
            + ["--reason", "搬离本区"]
        ),
        "households",
    ),
    "seed-demo": (lambda w: ["seed-demo", "--households", "2"], "households"),
    "audit-retention": (lambda w: _aged_trail(w), "audit_purges"),
    # reads, or files and queues only
    "db": None,
    "todo": None,
    "fund-check": None,
    "sweep-files": None,
    "storage-check": None,
    "jobs-worker": None,
    "monthly-report": None,
    # derived counts only (dashboard_daily, dashboard_refreshes are not audited)
    "dashboard-refresh": None,
    "import-households": None,
}


def _locked(world) -> User:
    from app.models.base import utcnow

    world.worker.failed_login_count, world.worker.locked_at = 10, utcnow()
    db.session.commit()
    return world.worker


def _aged_trail(world):
    import datetime as dt

    from flask import current_app

    from app.models.base import utcnow

    db.session.add(
        AuditEvent(action="login", occurred_at=utcnow() - dt.timedelta(days=900), user_id=1)
    )
    db.session.commit()
    current_app.config["AUDIT_RETENTION_DAYS"] = 365
    out = current_app.config["UPLOAD_FOLDER"] + f"/purge{next(_serial)}.jsonl"
    return ["audit-retention", "--purge", "--confirm", "--out", out]


def test_every_command_is_walked(app):
    unknown = sorted(set(app.cli.commands) - set(COMMANDS))
    assert not unknown, f"say in COMMANDS what these commands write: {unknown}"


@pytest.mark.parametrize("name", sorted(k for k, v in COMMANDS.items() if v))
def test_each_writing_command_is_recorded_as_itself(app, world, name):
    if name not in app.cli.commands:
        pytest.skip("not in this checkout")
    scenario, table = COMMANDS[name]
    args = scenario(world)
    since = _marker()
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    found = _new_events(since)
    assert found, f"flask {name} wrote no audit row"
    assert {e.source for e in found} == {f"flask {name}"}
    assert table in {e.record_type for e in found}
    acting = args[args.index("--user") + 1] if "--user" in args else None
    if acting is not None:
        user = db.session.scalars(select(User).where(User.username == acting)).one()
        assert {e.user_id for e in found} == {user.id}
    assert all(e.changes for e in found if e.action in ("create", "update", "archive"))


def test_a_refused_command_leaves_no_audit_row(app, world):
    household = _household(world)
    since = _marker()
    result = app.test_cli_runner().invoke(
        args=["archive", "household", str(household.id), "--user", world.worker.username]
    )
    assert result.exit_code != 0  # no reason given
    assert _new_events(since) == []
