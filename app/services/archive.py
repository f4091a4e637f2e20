"""Archive instead of delete: the one rule for taking a record out of use.

A household, member, need, resource, project or organisation that has a history is
never deleted, by anyone: it is *archived* with a reason (who, when, why), leaves lists,
drop-downs, look-ups, to-do items and counts (``access.active_criterion``), stays
readable on its details page by those whose scope covers it, and the district
administrator can restore it. A record entered by mistake, with no history, may be
deleted outright by the district administrator only (``hard_delete``), through this
module, so that the session's listeners (the audit trail) see it like any other write.
User accounts are not archived here: deactivation is their archive
(``services.users``).

What counts as history, per model (``HISTORY``; each is a query on rows that point at
the record):

- household: a case status change, a home visit, a match, a service record, a support
  plan, a ledger row, an evidence file, a pledge to a project it benefits from;
- household member: their household has a history (the member was part of what was
  assessed and paid for);
- need: a match, a service record that served it, the home visit that found it;
- resource: a match, a service record that used it;
- project: a pledge, a support plan, a service record, a ledger row, an evidence file;
- organisation: a pledge, a ledger row (donor or payee), a resource it provides, a
  support plan it is paid by, a service record it provided, a household it referred, a
  project it sponsors, a sponsor account.

What must be settled before archiving (``blockers``): a household with an active
support plan or a pending pledge on a project it benefits from; a project with a
pending pledge or an active support plan; a resource serving active matches; an
organisation with a pending pledge or paid by an active support plan. These are
refused with a message naming them. Archiving a need releases its active matches
(their capacity goes back to the resource), with the archive reason as the note.

Archiving a household archives its members and needs with it (same time, same
reason); restoring it restores those archived with it. A member or need of an
archived household is restored with the household, not alone.

``archive``, ``restore`` and ``hard_delete`` are whole user actions: each commits, or
rolls back and raises ``ArchiveRefused`` (``services.transaction``). ``remove_member``
is the same rule as a building block, for a member taken off the household's form
(its save commits).
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from app import access
from app.access import Permission
from app.extensions import db
from app.models import (
    ArchivableMixin,
    Assessment,
    CaseTransition,
    Household,
    LedgerEntry,
    Member,
    Need,
    NeedMatch,
    Organisation,
    Pledge,
    Project,
    Resource,
    ServiceRecord,
    StoredFile,
    SupportPlan,
    User,
    project_beneficiaries,
    project_sponsors,
    service_record_needs,
)
from app.models.base import utcnow
from app.services.transaction import committed
from app.validation import InvalidValue

#: the longest reason kept (a sentence or two, not a report)
MAX_REASON = 500


class ArchiveRefused(InvalidValue):
    """The archive, restore or delete was refused; the message says why."""


def _beneficiary_projects(household_id):
    return select(project_beneficiaries.c.project_id).where(
        project_beneficiaries.c.household_id == household_id
    )


#: model → [(what it is, a query for rows of that kind pointing at the record)]
HISTORY: dict[type, list[tuple[object, Callable]]] = {
    Household: [
        (
            _l("case status changes"),
            lambda r: select(CaseTransition.id).where(CaseTransition.household_id == r.id),
        ),
        (_l("home visits"), lambda r: select(Assessment.id).where(Assessment.household_id == r.id)),
        (_l("matches"), lambda r: select(NeedMatch.id).where(NeedMatch.household_id == r.id)),
        (
            _l("service records"),
            lambda r: select(ServiceRecord.id).where(ServiceRecord.household_id == r.id),
        ),
        (
            _l("support plans"),
            lambda r: select(SupportPlan.id).where(SupportPlan.household_id == r.id),
        ),
        (
            _l("ledger entries"),
            lambda r: select(LedgerEntry.id).where(LedgerEntry.household_id == r.id),
        ),
        (
            _l("evidence files"),
            lambda r: select(StoredFile.id).where(StoredFile.household_id == r.id),
        ),
        (
            _l("pledges"),
            lambda r: select(Pledge.id).where(Pledge.project_id.in_(_beneficiary_projects(r.id))),
        ),
    ],
    Need: [
        (_l("matches"), lambda r: select(NeedMatch.id).where(NeedMatch.need_id == r.id)),
        (
            _l("service records"),
            lambda r: select(service_record_needs.c.need_id).where(
                service_record_needs.c.need_id == r.id
            ),
        ),
        (
            _l("home visits"),
            lambda r: select(Need.id).where(Need.id == r.id, Need.assessment_id.is_not(None)),
        ),
    ],
    Resource: [
        (_l("matches"), lambda r: select(NeedMatch.id).where(NeedMatch.resource_id == r.id)),
        (
            _l("service records"),
            lambda r: select(ServiceRecord.id).where(ServiceRecord.resource_id == r.id),
        ),
    ],
    Project: [
        (_l("pledges"), lambda r: select(Pledge.id).where(Pledge.project_id == r.id)),
        (
            _l("support plans"),
            lambda r: select(SupportPlan.id).where(SupportPlan.project_id == r.id),
        ),
        (
            _l("service records"),
            lambda r: select(ServiceRecord.id).where(ServiceRecord.project_id == r.id),
        ),
        (
            _l("ledger entries"),
            lambda r: select(LedgerEntry.id).where(LedgerEntry.project_id == r.id),
        ),
        (
            _l("evidence files"),
            lambda r: select(StoredFile.id).where(StoredFile.project_id == r.id),
        ),
    ],
    Organisation: [
        (_l("pledges"), lambda r: select(Pledge.id).where(Pledge.organisation_id == r.id)),
        (
            _l("ledger entries"),
            lambda r: select(LedgerEntry.id).where(
                (LedgerEntry.donor_organisation_id == r.id)
                | (LedgerEntry.payee_organisation_id == r.id)
            ),
        ),
        (
            _l("resources"),
            lambda r: select(Resource.id).where(Resource.provider_organisation_id == r.id),
        ),
        (
            _l("support plans"),
            lambda r: select(SupportPlan.id).where(SupportPlan.payee_organisation_id == r.id),
        ),
        (
            _l("service records"),
            lambda r: select(ServiceRecord.id).where(
                ServiceRecord.provider_organisation_id == r.id
            ),
        ),
        (
            _l("referred households"),
            lambda r: select(Household.id).where(Household.referrer_organisation_id == r.id),
        ),
        (
            _l("sponsored projects"),
            lambda r: select(project_sponsors.c.project_id).where(
                project_sponsors.c.organisation_id == r.id
            ),
        ),
        (_l("sponsor accounts"), lambda r: select(User.id).where(User.organisation_id == r.id)),
    ],
}

#: the models this module archives (users: deactivation), by the names the CLI takes
ARCHIVABLE = {
    "household": Household,
    "member": Member,
    "need": Need,
    "resource": Resource,
    "project": Project,
    "organisation": Organisation,
}


def history_of(record) -> list[str]:
    """What history ``record`` has, as the names of its kinds ("home visits", ...);
    empty when it has none (it could be deleted as a mistake)."""
    if record.id is None:
        return []
    if isinstance(record, Member):
        household = record.resolved_household()
        return history_of(household) if household is not None else []
    found = []
    with db.session.no_autoflush:
        for name, query in HISTORY.get(type(record), []):
            if db.session.scalar(select(exists(query(record)))):
                found.append(str(name))
    return found


def has_history(record) -> bool:
    """Does ``record`` have any history (then it is archived, never deleted)?"""
    return bool(history_of(record))


def blockers(record) -> list[str]:
    """What must be settled before ``record`` is archived: active support plans and
    pending pledges (for a household, on the projects it benefits from), active
    matches of a resource. Each as a line naming it."""
    lines: list[str] = []
    plans = pledges = matches = None
    if isinstance(record, Household):
        plans = select(SupportPlan).where(SupportPlan.household_id == record.id)
        pledges = select(Pledge).where(Pledge.project_id.in_(_beneficiary_projects(record.id)))
    elif isinstance(record, Project):
        plans = select(SupportPlan).where(SupportPlan.project_id == record.id)
        pledges = select(Pledge).where(Pledge.project_id == record.id)
    elif isinstance(record, Organisation):
        plans = select(SupportPlan).where(SupportPlan.payee_organisation_id == record.id)
        pledges = select(Pledge).where(Pledge.organisation_id == record.id)
    elif isinstance(record, Resource):
        matches = select(NeedMatch).where(
            NeedMatch.resource_id == record.id, NeedMatch.status == "active"
        )
    with db.session.no_autoflush:
        if plans is not None:
            for plan in db.session.scalars(plans.where(SupportPlan.status == "active")):
                lines.append(str(_l("the active support plan %(name)s", name=plan.name)))
        if pledges is not None:
            for pledge in db.session.scalars(pledges.where(Pledge.status == "pending")):
                lines.append(
                    str(
                        _l(
                            "the pending pledge of %(organisation)s to %(project)s",
                            organisation=pledge.organisation.name,
                            project=pledge.project.name,
                        )
                    )
                )
        if matches is not None:
            for match in db.session.scalars(matches):
                lines.append(str(_l("the active match %(match)s", match=str(match))))
    return lines


def _check_archivable(record) -> None:
    if not isinstance(record, ArchivableMixin):
        raise ArchiveRefused(_l("Records of this kind are not archived."))


def _check_may_write(record, user) -> None:
    if not access.can_write_row(record, user):
        raise ArchiveRefused(_l("You can only archive or restore records within your own area."))


def _household_of(record) -> Household | None:
    if isinstance(record, Member | Need):
        return record.resolved_household()
    return None


def _archive_one(record, user, reason: str, when) -> None:
    record.archived_at = when
    record.archived_by_id = user.id if user is not None else None
    record.archive_reason = reason


def archive(record, user, reason: str | None):
    """Take ``record`` out of use, with ``reason``; returns it. Refused without a
    reason, outside the user's scope, when already archived, and while ``blockers``
    remain. A household takes its members and needs with it; a need releases its
    active matches. Commits."""
    from app.services import matching

    _check_archivable(record)
    reason = " ".join((reason or "").split())[:MAX_REASON]
    if not reason:
        raise ArchiveRefused(_l("Say why the record is archived."))
    _check_may_write(record, user)
    if record.is_archived:
        raise ArchiveRefused(_l("This record is already archived."))
    pending = blockers(record)
    if pending:
        raise ArchiveRefused(
            _l(
                "Settle these first, then archive: %(items)s.",
                items=str(_l("; ")).join(pending),
            )
        )
    with committed():
        when = utcnow()
        _archive_one(record, user, reason, when)
        needs = [record] if isinstance(record, Need) else []
        if isinstance(record, Household):
            for part in [*record.members, *record.needs]:
                if not part.is_archived:
                    _archive_one(part, user, reason, when)
            needs = list(record.needs)
        for need in needs:
            for match in list(need.matches):
                if match.status == "active":
                    matching.release_match(match, user=user, note=reason)
        db.session.flush()
    return record


def restore(record, user):
    """Bring an archived record back into use (the district administrator); a household
    brings back the members and needs archived with it. Commits."""
    _check_archivable(record)
    if not access.can(user, Permission.RESTORE_RECORD):
        raise ArchiveRefused(_l("Only the district administrator restores archived records."))
    _check_may_write(record, user)
    if not record.is_archived:
        raise ArchiveRefused(_l("This record is not archived."))
    household = _household_of(record)
    if household is not None and household.is_archived:
        raise ArchiveRefused(
            _l(
                "Its household %(household)s is archived: restore the household.",
                household=str(household),
            )
        )
    with committed():
        when = record.archived_at
        if isinstance(record, Household):
            for part in [*record.members, *record.needs]:
                if part.archived_at == when:
                    _archive_one(part, None, None, None)
        _archive_one(record, None, None, None)
        db.session.flush()
    return record


def remove_member(member: Member, user, reason: str | None) -> str:
    """A member taken off their household's form (the inline row's delete box): the
    same rule as ``hard_delete`` and ``archive``, as a building block inside the
    household's save (flushes nothing; the form's save commits both together).

    Deleted outright when ``user`` may delete it as a mistake (the district admin, no
    history); otherwise archived with ``reason`` — refused without one, saying why.
    Returns ``"deleted"`` or ``"archived"``."""
    _check_may_write(member, user)
    if member.is_archived:
        raise ArchiveRefused(_l("This record is already archived."))
    if can_hard_delete(member, user):
        db.session.delete(member)
        return "deleted"
    reason = " ".join((reason or "").split())[:MAX_REASON]
    if not reason:
        history = history_of(member)
        if history:
            raise ArchiveRefused(
                _l(
                    "%(name)s is part of this household's history (%(history)s) and is not "
                    "deleted: write why they are removed, and they are archived.",
                    name=member.name,
                    history=str(_l("、")).join(history),
                )
            )
        raise ArchiveRefused(
            _l(
                "Only the district administrator deletes records entered by mistake: write "
                "why %(name)s is removed, and they are archived.",
                name=member.name,
            )
        )
    _archive_one(member, user, reason, utcnow())
    return "archived"


def can_hard_delete(record, user) -> bool:
    """May ``user`` delete ``record`` outright (district admin; no history)?"""
    return (
        access.can(user, Permission.HARD_DELETE_RECORD)
        and access.can_write_row(record, user)
        and not has_history(record)
    )


def hard_delete(record, user) -> None:
    """Delete a record entered by mistake: the district administrator only, and only
    without history (else archive it). Commits."""
    if not access.can(user, Permission.HARD_DELETE_RECORD):
        raise ArchiveRefused(
            _l("Only the district administrator deletes records entered by mistake; archive it.")
        )
    _check_may_write(record, user)
    if isinstance(record, ArchivableMixin):
        history = history_of(record)
        if history:
            raise ArchiveRefused(
                _l(
                    "This record has a history (%(history)s) and cannot be deleted; archive it.",
                    history=str(_l("、")).join(history),
                )
            )
    with committed():
        db.session.delete(record)
        db.session.flush()
