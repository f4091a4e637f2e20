"""Service records (服务记录): the help delivered to a household, with its evidence.

``record_service`` creates one; the admin form fills the record itself and calls
``complete_service_record``, so both go through the same rules:
- the user may write the record (its household is in their area);
- the resource, project and provider organisation are ones the user may read;
- the needs served are needs of that household (the model's ``check_consistency``
  refuses others when the record is flushed);
- evidence files go through ``app/services/files.attach_files`` only: one bad file
  refuses the lot, and files written by a transaction that rolls back are removed;
- "needs met" (optional) marks every need served as met on the delivery date.

Services flush; the caller commits (Flask-Admin's save of the record form, the file
routes, the demo seed), as ``app/services/transaction.py`` describes.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import access
from app.extensions import db
from app.models import Organisation, Project, Resource, ServiceRecord, StoredFile
from app.services import files
from app.validation import InvalidValue


class ServiceRecordRefused(InvalidValue):
    """A service record that cannot be saved as it stands."""


def _readable(model, obj, user) -> bool:
    if obj is None:
        return True
    obj_id = obj.id
    if obj_id is None:
        return False
    found = db.session.scalar(
        access.visible(model, user, select(model.id)).where(model.id == obj_id)
    )
    return found is not None


def complete_service_record(
    record: ServiceRecord,
    *,
    user,
    evidence=(),
    evidence_kind: str = "photo",
    evidence_caption: str | None = None,
    mark_needs_met: bool = False,
) -> list[StoredFile]:
    """Check a new or changed record, attach its evidence and (optionally) mark its
    needs met. Returns the new file rows. Raises ``InvalidValue`` for anything wrong;
    the caller rolls back, which also removes files already written."""
    if not access.can_write_row(record, user):
        raise ServiceRecordRefused(_l("You can only save records within your own area."))
    for model, obj in (
        (Resource, record.resource),
        (Project, record.project),
        (Organisation, record.provider_organisation),
    ):
        if not _readable(model, obj, user):
            raise ServiceRecordRefused(_l("Choose a resource, project or provider in your area."))
    new_files = files.attach_files(
        evidence, kind=evidence_kind, caption=evidence_caption, service_record=record
    )
    # existing files follow the record to another project or household (and lose
    # "shareable"): the session hook in app/models/__init__.py does it on flush
    if mark_needs_met:
        for need in record.needs:
            if need.status != "withdrawn":
                need.status = "met"
                need.resolved_on = record.delivered_on or dt.date.today()
    db.session.flush()
    return new_files


def record_service(
    household,
    *,
    user,
    description: str,
    delivered_on: dt.date | None = None,
    needs=(),
    resource=None,
    project=None,
    provider_organisation=None,
    provider_person: str | None = None,
    provider_phone: str | None = None,
    quantity=None,
    unit: str | None = None,
    amount_yuan=None,
    evidence=(),
    evidence_kind: str = "photo",
    evidence_caption: str | None = None,
    mark_needs_met: bool = False,
) -> ServiceRecord:
    """Record a piece of help delivered to ``household``, with its evidence files."""
    if not (description or "").strip():
        raise ServiceRecordRefused(_l("Describe what was done."))
    record = ServiceRecord(
        household=household,
        delivered_on=delivered_on or dt.date.today(),
        description=description.strip(),
        needs=list(needs),
        resource=resource,
        project=project,
        provider_organisation=provider_organisation,
        provider_person=provider_person or None,
        provider_phone=provider_phone or None,
        quantity=quantity,
        unit=unit or None,
        amount_yuan=amount_yuan,
    )
    db.session.add(record)
    complete_service_record(
        record,
        user=user,
        evidence=evidence,
        evidence_kind=evidence_kind,
        evidence_caption=evidence_caption,
        mark_needs_met=mark_needs_met,
    )
    return record


def _check_may_change_file(stored: StoredFile, user) -> None:
    """A file is changed by whoever may change the record it proves."""
    owner = stored.owner
    if (
        owner is None
        or not access.may_write(StoredFile, user)
        or not access.can_write_row(owner, user)
    ):
        raise ServiceRecordRefused(_l("You can only change files within your own area."))


def set_file_shareable(stored: StoredFile, *, user, is_shareable: bool) -> StoredFile:
    """Staff who may change the record decide whether a photo may be shown to the
    sponsors of its project. Only photos (no receipts, agreements or menus, which
    carry names and amounts) can be shared."""
    _check_may_change_file(stored, user)
    if is_shareable and (not stored.is_image or stored.kind != "photo"):
        raise ServiceRecordRefused(_l("Only photos can be shared with sponsors."))
    stored.is_shareable = bool(is_shareable)
    db.session.flush()
    return stored


def remove_file(stored: StoredFile, *, user) -> None:
    """Delete one evidence file: the row now, the bytes on disk once committed."""
    _check_may_change_file(stored, user)
    files.delete_file(stored)
    db.session.flush()
