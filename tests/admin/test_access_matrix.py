"""Every admin view × every role × every way in.

Expectations are written out here from the rules in the issue, independently of
``app/admin/access.py``: which roles may open which view, and for each role a row it
may touch and a row outside its scope (same street but another community, another
street, a project not open and not theirs).
"""

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Area,
    Assessment,
    CaseTransition,
    HardshipCategory,
    Household,
    LedgerEntry,
    Member,
    Need,
    NeedMatch,
    Organisation,
    PlanMonth,
    Pledge,
    Project,
    Resource,
    ServiceRecord,
    SupportPlan,
    User,
    project_sponsors,
)
from app.models import choices as c
from app.services import fund
from app.services.casework import transition_case
from tests.conftest import ROLES
from tests.factories import (
    count,
    make_assessment,
    make_household,
    make_match,
    make_member,
    make_need,
    make_organisation,
    make_pledge,
    make_project,
    make_resource,
    make_service_record,
    make_support_plan,
)

STAFF = {"district_admin", "district_manager", "street_clerk", "community_worker"}
WRITERS = {"district_admin", "street_clerk", "community_worker"}
ADMIN = {"district_admin"}

#: endpoint → (model, roles that may open it, roles that may change its rows, url)
VIEWS = {
    "household": (Household, STAFF, WRITERS),
    "member": (Member, STAFF, WRITERS),
    "need": (Need, STAFF, WRITERS),
    "resource": (Resource, STAFF, WRITERS),
    "organisation": (Organisation, STAFF, {"district_admin", "street_clerk"}),
    "project": (Project, STAFF, WRITERS),
    "sponsor_project": (Project, {"sponsor"}, set()),
    # pledges change only through their own POST endpoints (tests/admin/test_pledges.py)
    "pledge": (Pledge, STAFF, set()),
    "sponsor_pledge": (Pledge, {"sponsor"}, set()),
    "area": (Area, STAFF, ADMIN),
    "hardship_category": (HardshipCategory, STAFF, ADMIN),
    "user": (User, ADMIN, ADMIN),
    # matches change only through accept/release (tests/admin/test_matching_admin.py)
    "need_match": (NeedMatch, STAFF, set()),
    "service_record": (ServiceRecord, STAFF, WRITERS),
    "assessment": (Assessment, STAFF, WRITERS),
    # read-only: rows are written by casework.transition_case only
    "case_transition": (CaseTransition, STAFF, set()),
    # the ledger is never edited or deleted, by anyone: posting has its own forms
    "ledger": (
        LedgerEntry,
        {"district_admin", "district_manager", "street_clerk"},
        set(),
    ),
    "support_plan": (SupportPlan, STAFF, {"district_admin", "street_clerk"}),
    # months change only through evidence upload, check and payment (own endpoints)
    "plan_month": (PlanMonth, STAFF, set()),
}
AREA_OWNED = (
    Household,
    Member,
    Need,
    Resource,
    Organisation,
    Project,
    NeedMatch,
    ServiceRecord,
    Pledge,
    Assessment,
    CaseTransition,
    LedgerEntry,
    SupportPlan,
    PlanMonth,
)
SPONSOR_URLS = {
    "sponsor_project": "/admin/sponsor/projects/",
    "sponsor_pledge": "/admin/sponsor/pledges/",
}


def url(endpoint: str, rest: str = "") -> str:
    return SPONSOR_URLS.get(endpoint, f"/admin/{endpoint}/") + rest


def _rows_everywhere(w):
    """In each place (the worker's community, the neighbour, the far community): a
    household with a member, a need matched to a resource of the place, a visit, a
    case move and a service record; a support plan with its months; a community
    project with a pledge of each sponsor, paid from the fund; an organisation of the
    place's street. The district's own resource, organisation and donation, a hardship
    category, and a finished project of the other sponsor."""
    projects = []
    for place in (w.community, w.neighbour, w.far_community):
        household = make_household(place)
        make_member(household)
        need = make_need(household)
        make_match(need, make_resource(community=place))
        make_assessment(household)
        transition_case(household, "assessed", user=w.admin, note="入户评估")
        make_service_record(household)
        make_support_plan(household)
        project = make_project(place)
        make_pledge(project, w.sponsor.organisation, amount="100")
        make_pledge(project, w.other_sponsor.organisation, amount="200")
        make_organisation("social_org", street=place.parent)
        projects.append(project)
    make_resource(served=[w.district])
    make_organisation("foundation")
    make_project(w.far_community, status="completed", sponsors=[w.other_sponsor.organisation])
    db.session.add(HardshipCategory(code="dibao", name="低保", sort_order=0))
    db.session.commit()
    fund.post_donation(
        user=w.admin,
        amount="10000",
        posted_on=dt.date(2026, 1, 10),
        receipt_number="JJH-1",
        donor_name="测试捐赠人",
    )
    for project in projects:
        fund.post_disbursement(
            user=w.admin,
            amount="100",
            posted_on=dt.date(2026, 3, 1),
            purpose="项目拨付",
            payee_person="收款人",
            project=project,
        )
    return w


@pytest.fixture
def world(world):
    return _rows_everywhere(world)


@pytest.fixture(scope="module")
def shared_world(shared_world):
    return _rows_everywhere(shared_world)


def out_of_scope_row(w, model, role):
    """A row this role must neither see nor touch, or None when it sees them all."""
    street, community = w.street, w.community
    if role in ("district_admin", "district_manager"):
        return None
    if role == "sponsor":
        if model is Pledge:
            return db.session.scalar(
                select(Pledge).where(Pledge.organisation_id != w.sponsor.organisation_id)
            )
        if model is not Project:
            return db.session.scalars(select(model)).first()
        theirs = select(project_sponsors.c.project_id).where(
            project_sponsors.c.organisation_id == w.sponsor.organisation_id
        )
        return db.session.scalar(
            select(Project).where(Project.status != "open", Project.id.not_in(theirs))
        )
    if model is Area:
        clause = Area.parent_id != street.id if role == "street_clerk" else Area.id != community.id
        return db.session.scalar(select(Area).where(Area.level == "community", clause))
    if model is HardshipCategory:
        return None
    if model is User:  # another account than the one signing in (whose login is a write)
        return db.session.scalar(
            select(User).where(User.id != w.user(role).id).order_by(User.id).limit(1)
        )
    if role == "street_clerk":
        return db.session.scalar(
            select(model).where(model.street_id.is_not(None), model.street_id != street.id)
        )
    # community worker: prefer a row of *another community in the same street*
    same_street = db.session.scalar(
        select(model).where(model.street_id == street.id, model.community_id != community.id)
    )
    return same_street or db.session.scalar(
        select(model).where(model.street_id.is_not(None), model.street_id != street.id)
    )


def in_scope_row(w, model, role):
    """A row this role may see (and, if a writer, change)."""
    street, community = w.street, w.community
    if role == "sponsor" and model is Pledge:
        return db.session.scalar(
            select(Pledge).where(Pledge.organisation_id == w.sponsor.organisation_id)
        )
    if role == "sponsor":
        return db.session.scalar(select(Project).where(Project.status == "open"))
    if model is Area:
        return community
    if model in AREA_OWNED and role == "street_clerk":
        return db.session.scalar(select(model).where(model.street_id == street.id))
    if model is Organisation and role == "community_worker":
        return db.session.scalar(select(model).where(model.street_id.is_(None)))
    if model in AREA_OWNED and role == "community_worker":
        return db.session.scalar(select(model).where(model.community_id == community.id))
    return db.session.scalars(select(model).order_by(model.id)).first()


def _expected_status(endpoint, role, *, write):
    _model, readers, writers = VIEWS[endpoint]
    allowed = writers if write else readers
    return None if role in allowed else 403


CASES = [(e, r) for e in VIEWS for r in ROLES]


def _sees_every_row(endpoint, role) -> bool:
    """Roles with no row out of their scope in this view (see ``out_of_scope_row``)."""
    district_wide = role in ("district_admin", "district_manager")
    shared_reference = VIEWS[endpoint][0] is HardshipCategory and role != "sponsor"
    return district_wide or shared_reference


#: skipped before their (costly) world is built
OUT_OF_SCOPE_CASES = [
    pytest.param(e, r, marks=pytest.mark.skip(reason="this role's scope covers every row"))
    if _sees_every_row(e, r)
    else (e, r)
    for e, r in CASES
]


@pytest.mark.parametrize(("endpoint", "role"), CASES)
def test_list_is_open_only_to_its_roles(shared_world, shared_login, endpoint, role):
    client = shared_login(shared_world.user(role))
    response = client.get(url(endpoint))
    assert response.status_code == (200 if role in VIEWS[endpoint][1] else 403)


@pytest.mark.parametrize("endpoint", list(VIEWS))
def test_anonymous_users_are_sent_to_login(shared_app, endpoint):
    client = shared_app.test_client()
    for path in ("", "details/?id=1", "edit/?id=1", "new/", "export/csv/"):
        response = client.get(url(endpoint, path))
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(("endpoint", "role"), [(e, r) for e, r in CASES if r in VIEWS[e][1]])
def test_in_scope_details_and_edit(shared_world, shared_login, endpoint, role):
    model, readers, writers = VIEWS[endpoint]
    row = in_scope_row(shared_world, model, role)
    client = shared_login(shared_world.user(role))
    assert client.get(url(endpoint, f"details/?id={row.id}")).status_code == 200
    may_edit = role in writers and not (model is Organisation and role == "community_worker")
    expected_edit = 200 if may_edit else (404 if role in writers else 403)
    assert client.get(url(endpoint, f"edit/?id={row.id}")).status_code == expected_edit


@pytest.mark.parametrize(("endpoint", "role"), OUT_OF_SCOPE_CASES)
def test_out_of_scope_ids_are_refused_every_way_in(world, login, endpoint, role):
    model, readers, writers = VIEWS[endpoint]
    row = out_of_scope_row(world, model, role)
    if row is None:
        pytest.skip("this role's scope covers every row")
    row_id, before = row.id, count(model)
    snapshot = {c.key: getattr(row, c.key) for c in model.__table__.columns}
    client = login(world.user(role))
    read_refusal = (404,) if role in readers else (403,)
    write_refusal = (403, 404)

    assert client.get(url(endpoint, f"details/?id={row_id}")).status_code in read_refusal
    assert client.get(url(endpoint, f"edit/?id={row_id}")).status_code in write_refusal
    assert (
        client.post(
            url(endpoint, f"edit/?id={row_id}"),
            data={"name": "x", "head_name": "x", "description": "x"},
        ).status_code
        in write_refusal
    )
    assert client.post(url(endpoint, "delete/"), data={"id": row_id}).status_code in write_refusal
    assert (
        client.post(
            url(endpoint, "ajax/update/"),
            data={"list_form_pk": row_id, "status": "withdrawn"},
        ).status_code
        in write_refusal
    )
    response = client.post(url(endpoint, "action/"), data={"action": "delete", "rowid": row_id})
    assert response.status_code in (302, 403)

    db.session.expire_all()
    assert count(model) == before, "a refused write removed or added rows"
    after = db.session.get(model, row_id)
    assert {c.key: getattr(after, c.key) for c in model.__table__.columns} == snapshot


@pytest.mark.parametrize("endpoint", list(VIEWS))
def test_malformed_ids_are_not_found(shared_world, shared_login, endpoint):
    client = shared_login(shared_world.admin)
    if endpoint in SPONSOR_URLS:
        client = shared_login(shared_world.sponsor)
    for raw in ("1,2", "abc", "-1", "99999999", "1%20OR%201=1"):
        assert client.get(url(endpoint, f"details/?id={raw}")).status_code == 404


def _export_ids(client, endpoint):
    response = client.get(url(endpoint, "export/csv/"))
    assert response.status_code == 200
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    return {int(r[0]) for r in rows[1:] if r}


def _expected_ids(w, model, role):
    street, community = w.street, w.community
    stmt = select(model.id)
    if role == "street_clerk" and model in AREA_OWNED:
        stmt = stmt.where((model.street_id == street.id) | model.street_id.is_(None))
    elif role == "community_worker" and model in AREA_OWNED:
        stmt = stmt.where(
            (model.community_id == community.id)
            | model.street_id.is_(None)
            | ((model.street_id == street.id) & model.community_id.is_(None))
        )
    return set(db.session.scalars(stmt))


@pytest.mark.parametrize("role", sorted(STAFF))
@pytest.mark.parametrize(
    "endpoint",
    [
        "household",
        "member",
        "need",
        "resource",
        "organisation",
        "project",
        "need_match",
        "service_record",
        "pledge",
        "assessment",
        "case_transition",
        "ledger",
        "support_plan",
        "plan_month",
    ],
)
def test_exports_hold_exactly_the_rows_in_scope(shared_world, shared_login, endpoint, role):
    model, readers, _writers = VIEWS[endpoint]
    client = shared_login(shared_world.user(role))
    if role not in readers:
        assert client.get(url(endpoint, "export/csv/")).status_code == 403
        return
    assert _export_ids(client, endpoint) == _expected_ids(shared_world, model, role)


@pytest.mark.parametrize("role", sorted(STAFF))
def test_list_count_matches_the_scope(shared_world, shared_login, role):
    client = shared_login(shared_world.user(role))
    page = client.get("/admin/household/?page_size=100").get_data(as_text=True)
    shown = {int(i) for i in re.findall(r'name="rowid"[^>]*value="(\d+)"', page)}
    expected = _expected_ids(shared_world, Household, role)
    if role == "district_manager":  # no actions, so no row checkboxes: use details links
        shown = {int(i) for i in re.findall(r"details/\?id=(\d+)", page)}
    assert shown and shown <= expected
    assert len(shown) == min(len(expected), 100)


def test_sponsor_export_is_refused(shared_world, shared_login):
    client = shared_login(shared_world.sponsor)
    assert client.get(url("sponsor_project", "export/csv/")).status_code == 403


@pytest.mark.parametrize("role", ["street_clerk", "community_worker"])
def test_cannot_create_a_household_in_another_area(world, login, role):
    client = login(world.user(role))
    before = count(Household)
    other, same_street_other = world.far_community, world.neighbour
    targets = [other] + ([same_street_other] if role == "community_worker" else [])
    for target in targets:
        response = client.post(
            "/admin/household/new/",
            data={
                "head_name": "越权",
                "head_id_number": "11010519491231002X",
                "address": "某处",
                "community": target.id,
                "intake_channel": "self_request",
                "status": "registered",
                "intake_date": "2026-01-05",
            },
        )
        assert response.status_code in (200, 302)
    db.session.expire_all()
    assert count(Household) == before


@pytest.mark.parametrize("role", ["street_clerk", "community_worker"])
def test_can_create_a_household_in_own_area(world, login, role):
    client = login(world.user(role))
    community = world.community
    response = client.post(
        "/admin/household/new/",
        data={
            "head_name": "新户主",
            "head_id_number": "11010519491231002X",
            "address": "测试社区1栋",
            "community": community.id,
            "intake_channel": "self_request",
            "status": "registered",
            "intake_date": "2026-01-05",
        },
    )
    assert response.status_code == 302
    household = db.session.scalar(select(Household).where(Household.head_name == "新户主"))
    assert household is not None and household.street_id == community.parent_id


def test_moving_a_household_out_of_scope_is_refused(world, login):
    client = login(world.worker)
    community, neighbour = world.community, world.neighbour
    household = db.session.scalar(select(Household).where(Household.community_id == community.id))
    response = client.post(
        f"/admin/household/edit/?id={household.id}",
        data={
            "head_name": household.head_name,
            "head_id_number": household.head_id_number,
            "address": household.address,
            "community": neighbour.id,
            "intake_channel": household.intake_channel,
            "status": household.status,
            "intake_date": household.intake_date.isoformat(),
        },
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Household, household.id).community_id == community.id


def test_bulk_archive_touches_only_rows_in_scope(world, login):
    # a clerk has no bulk delete: archive, not delete (app/services/archive.py)
    client = login(world.clerk)
    street = world.street
    mine = db.session.scalar(select(Need).where(Need.street_id == street.id))
    theirs = db.session.scalar(select(Need).where(Need.street_id != street.id))
    mine_id, theirs_id = mine.id, theirs.id
    rows = {"rowid": [mine_id, theirs_id]}
    assert client.post("/admin/need/action/", data={"action": "delete", **rows}).status_code == 403
    response = client.post(
        "/admin/need/action/", data={"action": "archive", "reason": "整理", **rows}
    )
    assert response.status_code == 302
    db.session.expunge_all()
    assert db.session.get(Need, mine_id).is_archived
    assert not db.session.get(Need, theirs_id).is_archived


@pytest.mark.parametrize("role", ["street_clerk", "community_worker"])
@pytest.mark.parametrize("endpoint", ["need", "member", "project"])
def test_ajax_lookups_stay_in_scope(shared_world, shared_login, role, endpoint):
    client = shared_login(shared_world.user(role))
    field = "beneficiaries" if endpoint == "project" else "household"
    response = client.get(url(endpoint, f"ajax/lookup/?name={field}&query=&limit=1000"))
    assert response.status_code == 200
    results = response.get_json()
    assert 0 < len(results) <= 20
    allowed = _expected_ids(shared_world, Household, role)
    assert {pk for pk, _label in results} <= allowed
    # LIKE wildcards are literal
    assert client.get(url(endpoint, f"ajax/lookup/?name={field}&query=%25")).get_json() == []


def test_ajax_lookup_as_sponsor_is_refused(shared_world, shared_login):
    client = shared_login(shared_world.sponsor)
    assert client.get("/admin/need/ajax/lookup/?name=household&query=").status_code == 403


@pytest.mark.parametrize("role", ["street_clerk", "community_worker"])
def test_choice_lists_and_filters_name_no_other_area(shared_world, shared_login, role):
    client = shared_login(shared_world.user(role))
    other_street_names = [shared_world.far_community.name, shared_world.far_street.name]
    pages = [
        client.get("/admin/household/").get_data(as_text=True),
        client.get("/admin/household/new/").get_data(as_text=True),
        client.get("/admin/need/").get_data(as_text=True),
        client.get("/admin/resource/new/").get_data(as_text=True),
        client.get("/admin/project/new/").get_data(as_text=True),
    ]
    for page in pages:
        for name in other_street_names:
            assert name not in page
    if role == "community_worker":
        assert shared_world.neighbour.name not in pages[1]  # same street, another community


def test_manager_filters_list_every_street(shared_world, shared_login):
    page = shared_login(shared_world.manager).get("/admin/household/").get_data(as_text=True)
    for name in (shared_world.street.name, shared_world.far_street.name):
        assert name in page


def test_editable_list_needs_edit_rights(shared_world, shared_login):
    need = db.session.scalars(select(Need)).first()
    client = shared_login(shared_world.manager)
    response = client.post(
        "/admin/need/ajax/update/",
        data={"list_form_pk": need.id, "status": "withdrawn"},
    )
    assert response.status_code == 403


def test_inline_edit_in_scope_works(world, login):
    client = login(world.worker)
    community = world.community
    need = db.session.scalar(select(Need).where(Need.community_id == community.id))
    response = client.post(
        "/admin/need/ajax/update/", data={"list_form_pk": need.id, "status": "met"}
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Need, need.id).status == "met"


def test_user_admin_is_admin_only_even_for_writes(world, login):
    for role in ("district_manager", "street_clerk", "community_worker", "sponsor"):
        client = login(world.user(role))
        before = count(User)
        response = client.post(
            "/admin/user/new/",
            data={
                "username": f"evil-{role}",
                "full_name": "x",
                "role": "district_admin",
                "password": "0123456789abc",
            },
        )
        assert response.status_code == 403
        assert count(User) == before


def test_every_role_of_the_app_is_tested():
    assert set(ROLES) == set(c.values(c.ROLES))
