"""The one place that says who may see and touch which rows.

Every admin view, lookup, export, landing-page count and choice list asks this
module, through ``visible(model, user)`` (rows a user may read) and
``writable(model, user)`` (rows a user may change), or ``can_write_row`` for one
object that is about to be saved; and ``can(user, Permission.X)`` for the decisions
of the programme (post to the ledger, check a plan month, decide a pledge ...).

It imports models and Flask's session (for the street switcher) and nothing above:
services, admin views, the CLI and file downloads all ask it.

The rules:
- ``district_admin`` reads and writes everything; ``district_manager`` reads
  everything and writes nothing. Both may narrow their view to one street with
  the street switcher (``session["street_id"]``).
- ``street_clerk`` reads and writes the records of their street, and reads (only)
  the records owned by the district as a whole.
- ``community_worker`` reads and writes the records of their community, and reads
  (only) the records owned by their street or the district as a whole.
- ``sponsor`` reads projects open for sponsorship and the projects their own
  organisation supports, their own organisation's pledges, and the evidence files
  staff marked shareable on projects they support; nothing else, never a household.

Casework rows (assessments, matches, service records, case history), support plans
and their months, and evidence files carry a copy of their household's street and
community, so they follow the same area rules as households. The special fund's
ledger is read by district staff and by street clerks for their own street (and the
district-level rows such as donations); only the district administrator posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask import g, has_request_context, session
from sqlalchemy import and_, false, func, or_, select, true
from werkzeug.local import LocalProxy

from app.extensions import db
from app.models import (
    ArchivableMixin,
    Area,
    Assessment,
    AuditEvent,
    CaseTransition,
    FundAccount,
    HardshipCategory,
    Household,
    ImportBatch,
    LedgerEntry,
    Member,
    Need,
    NeedMatch,
    Organisation,
    PlanMonth,
    Pledge,
    Project,
    Report,
    Resource,
    ServiceRecord,
    StoredFile,
    SupportPlan,
    User,
    area_tree,
    project_sponsors,
)
from app.models.household import HouseholdPartMixin

STAFF = ("district_admin", "district_manager", "street_clerk", "community_worker")
WRITERS = ("district_admin", "street_clerk", "community_worker")
ADMIN = ("district_admin",)
DISTRICT = ("district_admin", "district_manager")
CLERKS = ("district_admin", "street_clerk")
FUND_READERS = ("district_admin", "district_manager", "street_clerk")

#: models whose rows carry ``street_id`` / ``community_id`` directly
AREA_OWNED = (
    Household,
    Member,
    Need,
    Organisation,
    Project,
    Resource,
    CaseTransition,
    Assessment,
    NeedMatch,
    ServiceRecord,
    StoredFile,
    Pledge,
    LedgerEntry,
    SupportPlan,
    PlanMonth,
    ImportBatch,
)
#: who may open each model at all; the row rules below narrow it further
READ_ROLES = {
    Household: STAFF,
    Member: STAFF,
    Need: STAFF,
    Resource: STAFF,
    Organisation: STAFF,
    Project: STAFF + ("sponsor",),
    Area: STAFF,
    HardshipCategory: STAFF,
    User: ADMIN,
    CaseTransition: STAFF,
    Assessment: STAFF,
    NeedMatch: STAFF,
    ServiceRecord: STAFF,
    StoredFile: STAFF + ("sponsor",),
    Pledge: STAFF + ("sponsor",),
    LedgerEntry: FUND_READERS,
    FundAccount: FUND_READERS,
    SupportPlan: STAFF,
    PlanMonth: STAFF,
    #: the audit trail (审计日志): district staff; a record's own history is read
    #: through the record (``services.audit.history``)
    AuditEvent: DISTRICT,
    #: monthly reports (月度报表): district staff all, a street clerk their street's
    Report: FUND_READERS,
    #: Excel imports: staff see those of their area (who imported what, the report)
    ImportBatch: STAFF,
}
#: who may change rows (inside their area). Some rows change only through a service
#: (case history, pledges, the ledger): their admin views are read-only and the
#: service asks ``can_write_row`` / the role itself.
WRITE_ROLES = {
    Household: WRITERS,
    Member: WRITERS,
    Need: WRITERS,
    Resource: WRITERS,
    Organisation: ("district_admin", "street_clerk"),
    Project: WRITERS,
    Area: ADMIN,
    HardshipCategory: ADMIN,
    User: ADMIN,
    CaseTransition: WRITERS,
    Assessment: WRITERS,
    NeedMatch: WRITERS,
    ServiceRecord: WRITERS,
    StoredFile: WRITERS,
    # approving or rejecting: a clerk of the project's street, or the district admin
    Pledge: CLERKS,
    LedgerEntry: ADMIN,
    FundAccount: ADMIN,
    SupportPlan: CLERKS,
    PlanMonth: WRITERS,
    ImportBatch: WRITERS,
}


@dataclass(frozen=True)
class Scope:
    """Where a user stands: their role, and the street/community their view covers."""

    role: str
    street_id: int | None = None
    community_id: int | None = None
    organisation_id: int | None = None
    user_id: int | None = None

    @property
    def is_district_wide(self) -> bool:
        return self.role in DISTRICT


def selected_street_id() -> int | None:
    """The street a district-wide user picked in the top-bar switcher."""
    if not has_request_context():
        return None
    value = session.get("street_id")
    return value if isinstance(value, int) else None


def scope_of(user, *, narrowed: bool = True) -> Scope:
    """The scope of ``user``; ``narrowed`` applies the street switcher.

    Asked dozens of times a page (the menu checks each view): within a request the
    answer is kept per user, role, area and switcher, so the signed-in user is resolved
    once, not through ``current_user``'s proxy each time."""
    if isinstance(user, LocalProxy):
        user = user._get_current_object()
    if not has_request_context():
        return _scope_of(user, narrowed)
    key = (
        id(user),
        getattr(user, "id", None),
        getattr(user, "role", None),
        getattr(user, "area_id", None),
        getattr(user, "organisation_id", None),
        getattr(user, "is_active", None),
        selected_street_id() if narrowed else None,
    )
    cache = g.setdefault("_yj_scopes", {})
    if key not in cache:
        cache[key] = (user, _scope_of(user, narrowed))  # the user too: its id stays its own
    return cache[key][1]


def _scope_of(user, narrowed: bool) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope(role="anonymous")
    if user.role in DISTRICT:
        return Scope(
            role=user.role, street_id=selected_street_id() if narrowed else None, user_id=user.id
        )
    if user.role == "street_clerk":
        return Scope(role=user.role, street_id=user.area_id, user_id=user.id)
    if user.role == "community_worker":
        street_id = user.area.parent_id if user.area is not None else None
        return Scope(
            role=user.role, street_id=street_id, community_id=user.area_id, user_id=user.id
        )
    if user.role == "sponsor":
        return Scope(role=user.role, organisation_id=user.organisation_id, user_id=user.id)
    return Scope(role="anonymous")


def may_read(model, user) -> bool:
    return scope_of(user).role in READ_ROLES.get(model, ())


def may_write(model, user) -> bool:
    return scope_of(user).role in WRITE_ROLES.get(model, ())


def _owned_within(model, scope: Scope):
    """Rows owned by the scope's area or an area inside it."""
    if scope.community_id is not None:
        return model.community_id == scope.community_id
    if scope.street_id is not None:
        return model.street_id == scope.street_id
    return true()


def _owned_above(model, scope: Scope):
    """Rows owned by an area that contains the scope's area (read-only for it).

    None for a model whose rows always lie in a community (``community_required``:
    households, members, needs, visits ...): ``street_id = 7 OR street_id IS NULL`` would
    only mislead the planner (at a million rows it estimated a tenth of the street's
    rows and sorted on disk) for rows that cannot exist."""
    if scope.is_district_wide or getattr(model, "community_required", False):
        return false()
    if scope.community_id is not None:
        return or_(
            model.street_id.is_(None),
            and_(model.street_id == scope.street_id, model.community_id.is_(None)),
        )
    return model.street_id.is_(None)


def read_criterion(model, scope: Scope):
    """SQL criterion for the rows of ``model`` that ``scope`` may read."""
    if scope.role not in READ_ROLES.get(model, ()):
        return false()
    if scope.role == "sponsor":
        return _sponsor_criterion(model, scope)
    if model is StoredFile:
        return and_(
            or_(_owned_within(model, scope), _owned_above(model, scope)),
            _ledger_evidence_within(scope, read_criterion),
        )
    if model in AREA_OWNED:
        return or_(_owned_within(model, scope), _owned_above(model, scope))
    if model is Report:
        # a district report holds every street's figures: only district staff read it
        if scope.street_id is None:
            return true() if scope.is_district_wide else false()
        return Report.street_id == scope.street_id
    if model is Area:
        reach = _area_reach(scope)
        if reach is None:
            return true()
        ids, children_of = reach
        return or_(
            Area.level == "district",
            Area.id.in_(ids),
            Area.parent_id == children_of if children_of is not None else false(),
        )
    return true()  # reference data and users: the role check above is the rule


def _area_reach(scope: Scope) -> tuple[tuple[int, ...], int | None] | None:
    """The areas a staff scope reads besides the district: None for every area, else
    (these ids, the children of this street). The one statement of the rule: the SQL
    criterion above and ``area_visible`` (the kept tree) both read it."""
    if scope.is_district_wide and scope.street_id is None:
        return None
    street = scope.street_id
    if scope.community_id is not None:
        return tuple(i for i in (street, scope.community_id) if i is not None), None
    return tuple(i for i in (street,) if i is not None), street


def sponsored_project_ids(scope: Scope):
    """Projects the sponsor's organisation supports: named as a sponsor, or with an
    approved pledge."""
    org = scope.organisation_id or -1
    named = select(project_sponsors.c.project_id).where(project_sponsors.c.organisation_id == org)
    pledged = select(Pledge.project_id).where(
        Pledge.organisation_id == org, Pledge.status == "approved"
    )
    return named.union(pledged)


def open_to_sponsors():
    """Projects any sponsor may browse and pledge to: open for sponsorship, and with a
    summary for sponsors that staff wrote. A project without one is not offered to
    sponsors at all (its name and staff description are not meant for them). An
    archived project is not open, whatever its status says."""
    return and_(
        Project.status == "open",
        Project.archived_at.is_(None),
        func.length(func.trim(func.coalesce(Project.public_summary, ""))) > 0,
    )


def _sponsor_criterion(model, scope: Scope):
    if model is Project:
        return or_(open_to_sponsors(), Project.id.in_(sponsored_project_ids(scope)))
    if model is Pledge:
        return Pledge.organisation_id == (scope.organisation_id or -1)
    if model is StoredFile:
        return and_(
            StoredFile.is_shareable.is_(True),
            StoredFile.project_id.in_(sponsored_project_ids(scope)),
        )
    return false()


def write_criterion(model, scope: Scope):
    """SQL criterion for the rows of ``model`` that ``scope`` may change or delete."""
    if scope.role not in WRITE_ROLES.get(model, ()):
        return false()
    if model is StoredFile:
        return and_(_owned_within(model, scope), _ledger_evidence_within(scope, write_criterion))
    if model in AREA_OWNED:
        return _owned_within(model, scope)
    return true()


def _ledger_evidence_within(scope: Scope, criterion):
    """A receipt or invoice of the special fund follows the ledger's rules, not only
    its area: a community worker, who may not open the ledger, may not download it."""
    return or_(
        StoredFile.ledger_entry_id.is_(None),
        StoredFile.ledger_entry_id.in_(select(LedgerEntry.id).where(criterion(LedgerEntry, scope))),
    )


def visible(model, user, query=None):
    """A select of ``model`` (or ``query`` narrowed) to the rows ``user`` may read."""
    stmt = query if query is not None else select(model)
    return stmt.where(read_criterion(model, scope_of(user)))


def writable(model, user, query=None):
    stmt = query if query is not None else select(model)
    return stmt.where(write_criterion(model, scope_of(user)))


def _effective_areas(obj) -> tuple[int | None, int | None]:
    """(street_id, community_id) an object will have once saved."""
    if isinstance(obj, HouseholdPartMixin):
        household = obj.resolved_household()
        return _effective_areas(household) if household is not None else (None, None)
    if not hasattr(obj, "resolved_areas"):  # rows that copy their areas (pledges)
        return obj.street_id, obj.community_id
    street, community = obj.resolved_areas()
    if community is not None:
        return community.parent_id, community.id
    return (street.id if street is not None else None), None


def can_write_row(obj, user) -> bool:
    """May ``user`` save ``obj`` as it now stands (new or changed)?

    Checked in Python on the object about to be written, so a record cannot be
    created in, or moved into, an area outside the user's scope.
    """
    model = type(obj)
    scope = scope_of(user, narrowed=False)
    if scope.role not in WRITE_ROLES.get(model, ()):
        return False
    if model not in AREA_OWNED:
        return True
    street_id, community_id = _effective_areas(obj)
    if scope.community_id is not None:
        return community_id == scope.community_id
    if scope.street_id is not None:
        return street_id == scope.street_id
    return True


def can_reveal_personal_data(household: Household | None, user) -> bool:
    """Full ID numbers, phones, health and income: only to those who may edit the
    household (district admin, or the clerk/worker whose scope covers it)."""
    if household is None:
        return False
    return can_write_row(household, user) and household.id is not None


def active_criterion(model):
    """SQL criterion for the rows of ``model`` still in use: archived rows
    (``ArchivableMixin``) leave lists, drop-downs, look-ups, to-do items and counts,
    and this is the one place that says so. Models that are never archived: true."""
    if issubclass(model, ArchivableMixin):
        return model.archived_at.is_(None)
    return true()


def readable(model, user, *, keep=(), include_archived: bool = False):
    """A Query of the rows of ``model`` that ``user`` may read and that are in use:
    drop-downs and ajax look-ups offer exactly these. ``keep``: rows to offer even when
    archived (the values a record already has, so that its form still shows them);
    ``include_archived``: every readable row (looking one up by id)."""
    active = true() if include_archived else active_criterion(model)
    kept_ids = [row.id for row in keep if row is not None and row.id is not None]
    if kept_ids:
        active = or_(active, model.id.in_(kept_ids))
    return db.session.query(model).filter(read_criterion(model, scope_of(user)), active)


def areas_within(level: str, user):
    """Streets or communities inside the user's own area: the choices for the area a
    record is saved in (a clerk picks among their street's communities)."""
    scope = scope_of(user)
    query = db.session.query(Area).filter(Area.level == level)
    if scope.community_id is not None:
        query = query.filter(
            Area.id == (scope.community_id if level == "community" else scope.street_id)
        )
    elif scope.street_id is not None:
        column = Area.parent_id if level == "community" else Area.id
        query = query.filter(column == scope.street_id)
    return query.order_by(Area.parent_id, Area.name)


def assignable_workers(user):
    """Active clerks and community workers of the user's area, for "assigned worker"
    (user accounts are otherwise visible to the district administrator only)."""
    scope = scope_of(user)
    query = db.session.query(User).filter(
        User.role.in_(("community_worker", "street_clerk")), User.is_active.is_(True)
    )
    if scope.community_id is not None:
        query = query.filter(User.area_id.in_((scope.community_id, scope.street_id)))
    elif scope.street_id is not None:
        communities = select(Area.id).where(Area.parent_id == scope.street_id)
        query = query.filter(or_(User.area_id == scope.street_id, User.area_id.in_(communities)))
    return query.order_by(User.full_name)


def street_choices(user) -> list[area_tree.Node]:
    """Streets the user may pick in the street switcher (district-wide users), by name,
    from the kept area tree (no query but its version)."""
    if scope_of(user, narrowed=False).role not in DISTRICT:
        return []
    return sorted(area_tree.tree().of_level("street"), key=lambda n: n.name)


def area_visible(node, scope: Scope) -> bool:
    """``read_criterion(Area, scope)`` for an area of the kept tree (``node``: id,
    level, parent_id), from the same ``_area_reach``; a test holds the two to the same
    answer for every role."""
    if scope.role not in READ_ROLES.get(Area, ()) or scope.role == "sponsor":
        return False
    reach = _area_reach(scope)
    if reach is None:
        return True
    ids, children_of = reach
    return (
        node.level == "district"
        or node.id in ids
        or (children_of is not None and node.parent_id == children_of)
    )


def visible_areas(user, level: str) -> list[area_tree.Node]:
    """The streets or communities ``user`` may read, as the list filters offer them."""
    scope = scope_of(user)
    return [n for n in area_tree.tree().of_level(level) if area_visible(n, scope)]


# ------------------------------------------------------------------ permissions
class Permission(StrEnum):
    """What a request may ask to do. ``READ``/``WRITE`` are about a model (its
    ``READ_ROLES``/``WRITE_ROLES``); the others name one decision of the programme,
    held by the roles in ``PERMISSION_ROLES``. Every admin route declares one."""

    READ = "read"
    WRITE = "write"
    #: see the landing page (every signed-in user)
    SEE_LANDING = "see_landing"
    #: pick a street in the top-bar switcher
    SWITCH_STREET = "switch_street"
    SEE_TODO = "see_todo"
    SEE_UNMATCHED_NEEDS = "see_unmatched_needs"
    FIND_BY_ID_NUMBER = "find_by_id_number"
    CHANGE_CASE_STATUS = "change_case_status"
    MATCH_NEED = "match_need"
    MANAGE_EVIDENCE = "manage_evidence"
    SEE_FUND = "see_fund"
    POST_LEDGER = "post_ledger"
    UPLOAD_PLAN_EVIDENCE = "upload_plan_evidence"
    CHECK_PLAN_MONTH = "check_plan_month"
    PAY_PLAN_MONTH = "pay_plan_month"
    DECIDE_PLEDGE = "decide_pledge"
    #: the sponsor portal: browse open projects, pledge, withdraw, see the impact
    USE_SPONSOR_PORTAL = "use_sponsor_portal"
    #: the staff pages of projects and pledges (sponsors have their own portal)
    SEE_STAFF_PROJECTS = "see_staff_projects"
    #: bring an archived record back into use (``services.archive.restore``)
    RESTORE_RECORD = "restore_record"
    #: remove a record entered by mistake, with no history (``services.archive.hard_delete``)
    HARD_DELETE_RECORD = "hard_delete_record"
    #: the dashboard (数据看板): district staff, and a street clerk for their street
    SEE_DASHBOARD = "see_dashboard"
    #: ask for a monthly report of the district or a street (within the user's own)
    REQUEST_REPORT = "request_report"
    #: bring households, members and resources in from an Excel workbook, into the
    #: user's own area (``services.imports``)
    IMPORT_RECORDS = "import_records"


ALL_ROLES = STAFF + ("sponsor",)
#: who holds each named permission (rows are narrowed further by the area rules)
PERMISSION_ROLES: dict[Permission, tuple[str, ...]] = {
    Permission.SEE_LANDING: ALL_ROLES,
    Permission.SWITCH_STREET: DISTRICT,
    Permission.SEE_TODO: STAFF,
    Permission.SEE_UNMATCHED_NEEDS: STAFF,
    Permission.FIND_BY_ID_NUMBER: STAFF,
    Permission.CHANGE_CASE_STATUS: WRITE_ROLES[Household],
    Permission.MATCH_NEED: WRITE_ROLES[NeedMatch],
    Permission.MANAGE_EVIDENCE: WRITE_ROLES[ServiceRecord],
    Permission.SEE_FUND: READ_ROLES[LedgerEntry],
    Permission.POST_LEDGER: WRITE_ROLES[LedgerEntry],
    Permission.UPLOAD_PLAN_EVIDENCE: WRITE_ROLES[PlanMonth],
    Permission.CHECK_PLAN_MONTH: WRITE_ROLES[SupportPlan],
    Permission.PAY_PLAN_MONTH: WRITE_ROLES[LedgerEntry],
    Permission.DECIDE_PLEDGE: WRITE_ROLES[Pledge],
    Permission.USE_SPONSOR_PORTAL: ("sponsor",),
    Permission.SEE_STAFF_PROJECTS: STAFF,
    Permission.RESTORE_RECORD: ADMIN,
    Permission.HARD_DELETE_RECORD: ADMIN,
    Permission.SEE_DASHBOARD: FUND_READERS,
    Permission.REQUEST_REPORT: FUND_READERS,
    Permission.IMPORT_RECORDS: WRITERS,
}


def roles_for(permission: Permission, model=None) -> tuple[str, ...]:
    """The roles that hold ``permission`` (on ``model`` for READ/WRITE)."""
    if permission is Permission.READ:
        return READ_ROLES.get(model, ())
    if permission is Permission.WRITE:
        return WRITE_ROLES.get(model, ())
    return PERMISSION_ROLES[permission]


def can(user, permission: Permission, model=None) -> bool:
    """May ``user`` do ``permission`` at all? (Which rows: ``visible``/``writable``.)"""
    scope = scope_of(user, narrowed=False)
    if scope.role not in roles_for(permission, model):
        return False
    if permission is Permission.USE_SPONSOR_PORTAL:
        return scope.organisation_id is not None  # a sponsor speaks for an organisation
    return True
