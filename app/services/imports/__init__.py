"""Excel imports of households (with members) and resources.

The life of an import (``ImportBatch``):

1. ``start_import`` (the upload): the file is refused at once if it is hostile
   (``reading.file_kind``/``check_zip``: not a workbook, encrypted, macros, a zip
   bomb); else it is kept in a new batch (``queued``) and the dry run is enqueued
   (``app/jobs.py``: on RQ with Redis, inline without).
2. ``check_batch`` (job): reads the file streaming, checks every cell and row with the
   forms' rules and classifies each row 新增 / 更新 / 无变化 / 错误 (``checked``); or
   refuses the file with a message (``refused``). Nothing but the batch is written.
3. ``request_commit`` (the clerk chooses all rows, or valid rows only) and
   ``commit_batch`` (job): in ONE transaction, after taking a lock per community the
   file writes into (PostgreSQL ``pg_advisory_xact_lock``), the file is classified
   again against the database as it now is and written; every write's audit row names
   the import (``app/models/audit.py``, ``import_context``). "All rows" refuses to
   write anything if any row has an error; either way nothing is half-written.
   A unique-index clash with an import running at the same moment in another
   community rolls back and is retried once on the new state.
"""

from __future__ import annotations

import hashlib
import logging

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from app import access
from app.access import Permission
from app.extensions import db
from app.jobs import enqueue
from app.models import Area, ImportBatch, User
from app.models.audit import import_context
from app.models.base import utcnow
from app.services.imports import engine
from app.services.imports.columns import COLUMNS, KEY_COLUMNS
from app.services.imports.households import HouseholdImport
from app.services.imports.reading import FileRefused, Limits, check_zip, file_kind, open_sheet
from app.services.imports.resources import ResourceImport
from app.services.transaction import committed
from app.validation import InvalidValue

log = logging.getLogger(__name__)

__all__ = [
    "FileRefused",
    "check_batch",
    "commit_batch",
    "request_commit",
    "start_import",
    "visible_batches",
]

IMPORTERS = {"households": HouseholdImport, "resources": ResourceImport}
#: advisory-lock namespace of imports (the second key is the community's id)
LOCK_NAMESPACE = 1207


def _clean_name(file_name: str) -> str:
    name = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in name if ch.isprintable())[:200] or "upload"


def start_import(*, user, kind: str, file_name: str, data: bytes, default_community=None):
    """Keep the uploaded file in a new batch and enqueue its dry run. Refuses (with
    ``FileRefused``, nothing written) a file that is hostile or too large, a kind
    that does not exist, a user who may not import, a community outside their area."""
    if kind not in IMPORTERS:
        raise InvalidValue(_("Unknown kind of import."))
    if not access.can(user, Permission.IMPORT_RECORDS):
        raise InvalidValue(_("You may not import records."))
    limits = Limits.from_config()
    if len(data) > current_app.config["IMPORT_MAX_BYTES"]:
        raise FileRefused(
            _(
                "This file is larger than %(mb)s MB; split it into smaller files.",
                mb=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024),
            )
        )
    if not data:
        raise FileRefused(_("The file is empty."))
    file_name = _clean_name(file_name)
    if file_kind(file_name, data) == "xlsx":
        check_zip(data, limits)
    elif data.count(b"\n") > limits.max_rows + 10:
        raise FileRefused(
            _(
                "This file has more than %(limit)s rows; split it into smaller files.",
                limit=limits.max_rows,
            )
        )
    if default_community is not None:
        allowed = {a.id for a in access.areas_within("community", user)}
        if default_community.id not in allowed:
            raise InvalidValue(_("This community is outside your area: you cannot import into it."))
    scope = access.scope_of(user, narrowed=False)
    with committed():
        batch = ImportBatch(
            kind=kind,
            status="queued",
            file_name=file_name,
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            content=data,
            user_id=user.id,
            street_id=scope.street_id,
            community_id=scope.community_id,
            default_community_id=default_community.id if default_community else None,
        )
        db.session.add(batch)
    batch_id = batch.id
    job_id = enqueue(check_batch, batch_id, description=f"import #{batch_id}: check")
    _remember_job(batch_id, job_id)
    return db.session.get(ImportBatch, batch_id)


def _remember_job(batch_id: int, job_id: str | None) -> None:
    if job_id is None:
        return
    db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch_id, ImportBatch.status.in_(("queued", "committing")))
        .values(job_id=job_id)
    )
    db.session.commit()


def _importer(batch: ImportBatch, user):
    default = (
        db.session.get(Area, batch.default_community_id) if batch.default_community_id else None
    )
    return IMPORTERS[batch.kind](user, default)


def _read(batch: ImportBatch, importer, progress):
    columns = COLUMNS[batch.kind]
    is_header, names = engine.header_check(columns, KEY_COLUMNS[batch.kind])
    sheet = open_sheet(batch.file_name, batch.content, is_header, names, Limits.from_config())
    try:
        rows, index = engine.read_rows(sheet, columns, importer.lookups(), progress)
        rows = importer.keep(rows)
    finally:
        if sheet.close is not None:
            sheet.close()
    return rows, index


def check_batch(batch_id: int) -> None:
    """The dry run (a job): classify every row, write only the batch's report."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.status not in ("queued", "checking"):
        return
    batch.status, batch.rows_done = "checking", 0
    db.session.commit()
    user = db.session.get(User, batch.user_id)
    progress = engine.Progress(batch_id)
    try:
        importer = _importer(batch, user)
        rows, index = _read(batch, importer, progress)
        progress(len(rows), len(rows), force=True)
        importer.classify(rows, index)
        counts, errors, notes = engine.report(rows, index)
    except FileRefused as exc:
        db.session.rollback()
        _finish(batch_id, status="refused", message=str(exc))
        return
    except Exception:
        db.session.rollback()
        log.exception("import #%s: the check failed", batch_id)
        _finish(batch_id, status="failed", message=_("The check failed unexpectedly."))
        raise
    db.session.rollback()  # the check read only; nothing of it is kept but the report
    _finish(
        batch_id,
        status="checked",
        counts=counts,
        errors=errors,
        notes=notes,
        rows_total=len(rows),
        rows_done=len(rows),
        checked_at=utcnow(),
    )


def _finish(batch_id: int, **values) -> None:
    db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(**values))
    db.session.commit()


def request_commit(batch: ImportBatch, *, user, mode: str) -> ImportBatch:
    """Start the commit of a checked batch: "all" (only when no row has an error) or
    "valid" (rows with an error are left out). Once: a second click finds the batch
    already committing. Enqueues ``commit_batch``."""
    if mode not in ("all", "valid"):
        raise InvalidValue(_("Choose all rows or valid rows only."))
    if batch.status != "checked":
        raise InvalidValue(_("This import is not waiting to be committed."))
    if mode == "all" and batch.error_count:
        raise InvalidValue(
            _(
                "Some rows have errors: fix them and upload the file again, or import the valid rows only."
            )
        )
    if batch.valid_count == 0:
        raise InvalidValue(_("No row of this file can be imported."))
    claimed = db.session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == "checked")
        .values(
            status="committing",
            commit_mode=mode,
            committed_by_id=user.id,
            rows_done=0,
            message=None,
        )
    ).rowcount
    db.session.commit()
    if claimed != 1:
        raise InvalidValue(_("This import is not waiting to be committed."))
    job_id = enqueue(commit_batch, batch.id, description=f"import #{batch.id}: commit")
    _remember_job(batch.id, job_id)
    db.session.expire_all()
    return db.session.get(ImportBatch, batch.id)


def _lock_communities(ids) -> None:
    """Two imports into the same community commit one after the other: the second
    then sees the first's households and updates them instead of adding them again."""
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite: one writer at a time anyway
    for community_id in sorted(i for i in ids if i is not None):
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :id)"),
            {"ns": LOCK_NAMESPACE, "id": community_id},
        )


def commit_batch(batch_id: int) -> None:
    """The commit (a job): all of the file, or its valid rows, in one transaction."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or batch.status != "committing":
        return
    for attempt in (1, 2):
        try:
            done = _commit_once(batch_id)
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                _finish(
                    batch_id,
                    status="checked",
                    message=_(
                        "Another import changed the same records at the same time; "
                        "nothing was written. Please try again."
                    ),
                )
                return
            continue
        except (InvalidValue, _Refused) as exc:
            db.session.rollback()
            _finish(batch_id, status="checked", message=str(exc))
            return
        except OperationalError:
            db.session.rollback()
            log.exception("import #%s: the commit failed", batch_id)
            _finish(
                batch_id,
                status="checked",
                message=_("The database was busy; nothing was written. Please try again."),
            )
            return
        except Exception:
            db.session.rollback()
            log.exception("import #%s: the commit failed", batch_id)
            _finish(
                batch_id,
                status="failed",
                message=_("The import failed unexpectedly; nothing was written."),
            )
            raise
        _finish(
            batch_id,
            status="committed",
            committed_at=utcnow(),
            committed_counts=done,
            rows_done=done["rows"],
        )
        return


class _Refused(Exception):
    pass


def _commit_once(batch_id: int) -> dict:
    batch = db.session.get(ImportBatch, batch_id)
    file_name, sha256, mode = batch.file_name, batch.sha256, batch.commit_mode
    user = db.session.get(User, batch.committed_by_id)
    if user is None or not access.can(user, Permission.IMPORT_RECORDS):
        raise _Refused(_("You may not import records."))
    progress = engine.Progress(batch_id)
    importer = _importer(batch, user)
    try:
        rows, index = _read(batch, importer, lambda *a, **k: None)
    except FileRefused as exc:
        raise _Refused(str(exc)) from None
    db.session.expunge(batch)
    _lock_communities(importer.community_ids(rows))
    importer.classify(rows, index)
    counts, _errors, _notes = engine.report(rows, index)
    if mode == "all" and counts["error"]:
        raise _Refused(
            _(
                "Since the check, %(count)s rows have errors (the records changed); "
                "nothing was written. Check the file again.",
                count=counts["error"],
            )
        )
    with import_context(batch_id, file_name, sha256, user.id):
        done = importer.apply(valid_only=mode == "valid", progress=progress)
    done["rows"] = len(rows)
    done["skipped"] = counts["error"]
    db.session.commit()
    return done


def visible_batches(user):
    """The imports a user may see, newest first: their area's (the admin: all)."""
    return access.visible(ImportBatch, user).order_by(
        ImportBatch.created_at.desc(), ImportBatch.id.desc()
    )


def running_count(user) -> int:
    return (
        db.session.scalar(
            access.visible(ImportBatch, user)
            .with_only_columns(func.count())
            .where(ImportBatch.status.in_(("queued", "checking", "committing")))
        )
        or 0
    )


def read_batch_rows(batch: ImportBatch):
    """The file's sheet, for the highlighted error workbook (``workbooks``)."""
    columns = COLUMNS[batch.kind]
    is_header, names = engine.header_check(columns, KEY_COLUMNS[batch.kind])
    return open_sheet(batch.file_name, batch.content, is_header, names, Limits.from_config())
