"""All models, imported here so that Alembic and the app see every table.

Two session hooks keep derived columns honest on every save, whoever saves
(admin, CLI, import, test):
- areas: a record's street is its community's street; members and needs carry
  their household's street and community;
- tracking: created_by / updated_by from the logged-in user.
Then each new or changed object's ``check_consistency()`` (when it has one) runs and
may raise ``InvalidValue``, which aborts the flush with nothing written.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, event, inspect, update
from sqlalchemy.orm import Session

from app.models import area_tree  # noqa: F401  (its table and triggers)
from app.models.area import Area, AreaOwnedMixin
from app.models.audit import AuditEvent  # the audit trail (its after_flush listener)
from app.models.base import ArchivableMixin, TrackedMixin, has_changed, stamp_tracked, utcnow
from app.models.casework import (
    Assessment,
    CaseTransition,
    NeedMatch,
    ServiceRecord,
    service_record_needs,
)
from app.models.dashboard import DashboardDaily, DashboardRefresh
from app.models.files import StoredFile
from app.models.fund import FundAccount, LedgerEntry, PlanMonth, Pledge, SupportPlan
from app.models.household import Household, HouseholdPartMixin, Member, household_categories
from app.models.imports import ImportBatch
from app.models.need import Need
from app.models.organisation import Organisation
from app.models.project import Project, project_beneficiaries, project_sponsors
from app.models.reference import HardshipCategory
from app.models.reports import Report
from app.models.resource import Resource, resource_areas
from app.models.user import User
from app.validation import InvalidValue

__all__ = [
    "ArchivableMixin",
    "Area",
    "AreaOwnedMixin",
    "Assessment",
    "AuditEvent",
    "CaseTransition",
    "DashboardDaily",
    "DashboardRefresh",
    "FundAccount",
    "HardshipCategory",
    "Household",
    "ImportBatch",
    "LedgerEntry",
    "Member",
    "Need",
    "NeedMatch",
    "Organisation",
    "PlanMonth",
    "Pledge",
    "Project",
    "Report",
    "Resource",
    "ServiceRecord",
    "StoredFile",
    "SupportPlan",
    "TrackedMixin",
    "User",
    "household_categories",
    "project_beneficiaries",
    "project_sponsors",
    "resource_areas",
    "service_record_needs",
]

#: tables whose rows carry a copy of their household's street and community
HOUSEHOLD_PART_MODELS = (
    Member,
    Need,
    CaseTransition,
    Assessment,
    NeedMatch,
    ServiceRecord,
    SupportPlan,
    PlanMonth,
    StoredFile,
)


#: records that own evidence files (``StoredFile``) whose copies must follow them
FILE_OWNER_MODELS = (ServiceRecord, SupportPlan, PlanMonth)


def _follow_moved_household(session: Session, household: Household) -> None:
    """A household moved to another community: every row copied from it follows."""
    values = {"street_id": household.street_id, "community_id": household.community_id}
    for model in HOUSEHOLD_PART_MODELS:
        session.execute(
            update(model)
            .where(model.household_id == household.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, HOUSEHOLD_PART_MODELS) and obj.household_id == household.id:
            obj.street_id, obj.community_id = values["street_id"], values["community_id"]


def _follow_moved_project(session: Session, project: Project) -> None:
    values = {"street_id": project.street_id, "community_id": project.community_id}
    session.execute(
        update(Pledge)
        .where(Pledge.project_id == project.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Pledge) and obj.project_id == project.id:
            obj.street_id, obj.community_id = values["street_id"], values["community_id"]


def _derive_areas(session: Session) -> None:
    changed = list(session.new) + list(session.dirty)
    for obj in changed:
        if isinstance(obj, AreaOwnedMixin):
            _street, community = obj.resolved_areas()
            if community is not None and community.level == "community":
                # set both the relationship and the id: children copy the ids below
                obj.community_id = community.id
                obj.street = community.parent
                obj.street_id = community.parent_id
    for obj in changed:
        if isinstance(obj, Household):
            if obj not in session.new and has_changed(obj, "community_id", "community"):
                _follow_moved_household(session, obj)
            for child in list(obj.members) + list(obj.needs):
                child.street_id, child.community_id = obj.street_id, obj.community_id
        elif isinstance(obj, Project):
            if obj not in session.new and has_changed(obj, "community_id", "street_id"):
                _follow_moved_project(session, obj)
        elif isinstance(obj, HouseholdPartMixin):
            household = obj.resolved_household()
            if household is not None:
                obj.street_id = household.street_id
                obj.community_id = household.community_id
        elif isinstance(obj, Pledge):
            project = obj.project or (obj.project_id and session.get(Project, obj.project_id))
            if project:
                obj.street_id, obj.community_id = project.street_id, project.community_id
        elif isinstance(obj, LedgerEntry) and obj in session.new:
            _derive_ledger_areas(session, obj)
    # files last: they copy their owner's areas, derived above, and follow an owner
    # that moves to another household or project
    for obj in changed:
        if isinstance(obj, StoredFile):
            obj.copy_owner_areas()
        elif isinstance(obj, FILE_OWNER_MODELS) and obj not in session.new:
            moved = [a for a in ("household", "project") if hasattr(type(obj), a)]
            if has_changed(obj, *moved, *(f"{a}_id" for a in moved)):
                for stored in obj.files:
                    stored.copy_owner_areas()


def _derive_ledger_areas(session: Session, entry: LedgerEntry) -> None:
    """A disbursement belongs to the street of the project or household it pays; a
    reversal to the street of the entry it reverses; a donation to the district."""
    source = None
    if entry.reverses is not None or entry.reverses_id is not None:
        source = entry.reverses or session.get(LedgerEntry, entry.reverses_id)
    elif entry.project is not None or entry.project_id is not None:
        source = entry.project or session.get(Project, entry.project_id)
    elif entry.household is not None or entry.household_id is not None:
        source = entry.household or session.get(Household, entry.household_id)
    if source is not None:
        entry.street_id, entry.community_id = source.street_id, source.community_id


def _refuse_changes_to_posted_entries(session: Session) -> None:
    """Ledger rows are immutable once posted: a mistake is corrected by a reversing
    entry (``app/services/fund.py``), never by editing or deleting."""
    for obj in session.deleted:
        if isinstance(obj, LedgerEntry):
            raise InvalidValue(_l("A posted ledger entry cannot be deleted; post a reversal."))
    for obj in session.dirty:
        if isinstance(obj, LedgerEntry):
            state = inspect(obj)
            if any(state.attrs[c.key].history.has_changes() for c in state.mapper.column_attrs):
                raise InvalidValue(_l("A posted ledger entry cannot be changed; post a reversal."))


def _give_back_capacity_of_gone_needs(session: Session) -> None:
    """A need that is deleted (alone or with its household) or withdrawn no longer
    uses its resources: its active matches end and their capacity returns, whichever
    way in (need list, household delete, assessment page, CLI)."""
    ending = [m for m in session.deleted if isinstance(m, NeedMatch) and m.status == "active"]
    for need in list(session.dirty):
        if isinstance(need, Need) and need.status == "withdrawn" and has_changed(need, "status"):
            for match in need.matches:
                if match.status == "active":
                    match.status = "released"
                    match.released_at = utcnow()
                    ending.append(match)
    for match in ending:
        session.execute(
            update(Resource)
            .where(Resource.id == match.resource_id)
            .values(
                used_quantity=Resource.used_quantity - match.quantity,
                status=case((Resource.status == "exhausted", "available"), else_=Resource.status),
            )
            .execution_options(synchronize_session=False)
        )
        resource = session.identity_map.get(session.identity_key(Resource, match.resource_id))
        if resource is not None:
            session.expire(resource, ["used_quantity", "status"])


@event.listens_for(Session, "before_flush")
def _before_flush(session, flush_context, instances) -> None:
    _refuse_changes_to_posted_entries(session)
    _give_back_capacity_of_gone_needs(session)
    _derive_areas(session)
    stamp_tracked(session, flush_context, instances)
    for obj in list(session.new) + list(session.dirty):
        check = getattr(obj, "check_consistency", None)
        if check is not None and (obj in session.new or session.is_modified(obj)):
            check()
