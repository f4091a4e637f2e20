"""The pledge endpoints as every role: the sponsor's pledge form, "my pledges" with
withdraw, "our support", and the staff's approve / reject / received actions.
Out-of-scope ids answer 404, wrong roles 403, anonymous users go to the login page,
and a refused change leaves everything as it was."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Pledge, Project
from app.services import files, sponsorship
from app.validation import format_yuan
from tests.conftest import ROLES
from tests.factories import (
    count,
    jpeg,
    make_household,
    make_pledge,
    make_project,
    make_service_record,
)

STAFF = ["district_admin", "district_manager", "street_clerk", "community_worker"]


def _pending(sponsor, community) -> Pledge:
    """A pending 10-yuan pledge of ``sponsor``'s organisation (through the service) on
    a new open project of ``community``."""
    project = make_project(community)
    return sponsorship.pledge(project, organisation=sponsor.organisation, user=sponsor, amount="10")


@pytest.fixture(scope="module")
def shared_world(shared_world):
    """The module's world with pledges: on an open project of the worker's community
    (1,000 yuan) the sponsor pledged 100 and the other sponsor 200, both pending; a
    claimed project is the sponsor's (approved 1,000), one in progress in the far
    street the other sponsor's; one more project is open in the far street."""
    w = shared_world
    w.open_here, w.open_far = make_project(w.community), make_project(w.far_community)
    w.mine = make_pledge(w.open_here, w.sponsor.organisation, amount="100")
    w.theirs = make_pledge(w.open_here, w.other_sponsor.organisation, amount="200")
    w.supported = make_project(w.community, status="claimed")
    make_pledge(w.supported, w.sponsor.organisation, amount="1000", status="approved")
    w.theirs_only = make_project(w.far_community, status="in_progress")
    make_pledge(w.theirs_only, w.other_sponsor.organisation, amount="1000", status="approved")
    db.session.commit()
    return w


def _snapshot(pledge_id):
    db.session.expire_all()
    pledge = db.session.get(Pledge, pledge_id)
    return (pledge.status, pledge.decision_note, pledge.received_on, pledge.project.pledged_total)


def _flashes(response) -> str:
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', response.text, re.S))


# ------------------------------------------------------------- sponsor: pledging
def test_a_sponsor_pledges_from_the_project_page(world, login):
    project = make_project(world.community)
    make_pledge(project, world.other_sponsor.organisation, amount="300")
    before = project.pledged_total
    client = login(world.sponsor)
    page = client.get(f"/admin/sponsor/projects/details/?id={project.id}").text
    assert 'id="pledge-form"' in page and 'name="amount"' in page
    response = client.post(
        "/admin/sponsor/projects/pledge/",
        data={"id": project.id, "kind": "money", "amount": "120.50", "note": "年内到账"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/sponsor/pledges/")
    pledge = db.session.scalar(select(Pledge).order_by(Pledge.id.desc()))
    assert (pledge.project_id, pledge.organisation_id, pledge.amount_yuan, pledge.status) == (
        project.id,
        world.sponsor.organisation_id,
        Decimal("120.50"),
        "pending",
    )
    assert pledge.sponsor_note == "年内到账"
    db.session.expire_all()
    assert db.session.get(Project, project.id).pledged_total == before + Decimal("120.50")
    assert before == Decimal("300")
    mine = client.get("/admin/sponsor/pledges/").text
    assert "120.50" in mine and "撤回" in mine


def test_an_over_pledge_shows_what_remains_in_chinese(world, login):
    project = make_project(world.community, budget=Decimal("1000"))
    make_pledge(project, world.other_sponsor.organisation, amount="400")
    remaining = Decimal("600")
    client = login(world.sponsor)
    response = client.post(
        "/admin/sponsor/projects/pledge/",
        data={"id": project.id, "kind": "money", "amount": str(remaining + 1)},
        follow_redirects=True,
    )
    assert "600.00" in _flashes(response) and "元" in _flashes(response)
    assert count(Pledge) == 1


@pytest.mark.parametrize("amount", ["", "abc", "-3", "1.234", "0"])
def test_bad_amounts_change_nothing(world, login, amount):
    project = make_project(world.community)
    before = project.pledged_total
    response = login(world.sponsor).post(
        "/admin/sponsor/projects/pledge/",
        data={"id": project.id, "kind": "money", "amount": amount},
        follow_redirects=True,
    )
    assert _flashes(response)
    db.session.expire_all()
    assert db.session.get(Project, project.id).pledged_total == before


def test_pledging_to_a_project_not_open_to_sponsors_is_not_found(world, login):
    client = login(world.sponsor)
    theirs = make_project(world.community, status="claimed")
    assert (
        client.post(
            "/admin/sponsor/projects/pledge/", data={"id": theirs.id, "amount": "10"}
        ).status_code
        == 404
    )
    for raw in ("", "abc", "-1", "99999999"):
        assert (
            client.post(
                "/admin/sponsor/projects/pledge/", data={"id": raw, "amount": "10"}
            ).status_code
            == 404
        )


def test_a_supported_project_no_longer_open_shows_no_pledge_form(world, login):
    supported = make_project(world.community, status="claimed")
    make_pledge(supported, world.sponsor.organisation, amount="1000", status="approved")
    client = login(world.sponsor)
    page = client.get(f"/admin/sponsor/projects/details/?id={supported.id}").text
    assert 'id="pledge-form"' not in page
    response = client.post(
        "/admin/sponsor/projects/pledge/",
        data={"id": supported.id, "kind": "money", "amount": "1"},
        follow_redirects=True,
    )
    assert "认领" in _flashes(response)
    assert count(Pledge, Pledge.project_id == supported.id) == 1


@pytest.mark.parametrize("role", STAFF)
def test_staff_cannot_use_the_sponsor_pledge_form(world, login, role):
    project = make_project(world.community)
    response = login(world.user(role)).post(
        "/admin/sponsor/projects/pledge/", data={"id": project.id, "amount": "10"}
    )
    assert response.status_code == 403
    assert count(Pledge) == 0


def test_an_open_project_without_a_summary_is_not_offered_to_sponsors(world, login):
    project = make_project(world.community)
    project.public_summary = "  "
    db.session.commit()
    client = login(world.sponsor)
    assert project.name not in client.get("/admin/sponsor/projects/?page_size=100").text
    assert client.get(f"/admin/sponsor/projects/details/?id={project.id}").status_code == 404
    assert (
        client.post(
            "/admin/sponsor/projects/pledge/", data={"id": project.id, "amount": "1"}
        ).status_code
        == 404
    )


def test_sponsor_project_filters_list_streets_and_filter(shared_world, shared_app, shared_login):
    client = shared_login(shared_world.sponsor)
    page = client.get("/admin/sponsor/projects/").text
    assert shared_world.street.name in page and shared_world.far_street.name in page
    street = shared_world.street
    view = next(
        v for v in shared_app.extensions["admin"][0]._views if v.endpoint == "sponsor_project"
    )
    arg = next(a for a, (_i, f) in view._filter_args.items() if f.column is Project.street_id)
    filtered = client.get(f"/admin/sponsor/projects/?flt0_{arg}={street.id}&page_size=100").text
    assert shared_world.open_here.name in filtered
    assert shared_world.open_far.name not in filtered and shared_world.open_far.name in page


# ------------------------------------------------------------- sponsor: my pledges
def test_my_pledges_lists_only_my_organisation(shared_world, shared_login):
    page = shared_login(shared_world.sponsor).get("/admin/sponsor/pledges/?page_size=100").text
    org_id = shared_world.sponsor.organisation_id
    mine = db.session.scalars(select(Pledge).where(Pledge.organisation_id == org_id)).all()
    theirs = db.session.scalars(select(Pledge).where(Pledge.organisation_id != org_id)).all()
    assert (len(mine), len(theirs)) == (2, 2)
    assert len(re.findall(r"details/\?id=(\d+)", page)) == len(mine)
    assert {int(i) for i in re.findall(r"details/\?id=(\d+)", page)} == {p.id for p in mine}


def test_another_organisations_pledge_is_not_found(shared_world, shared_login):
    theirs = shared_world.theirs
    client = shared_login(shared_world.sponsor)
    assert client.get(f"/admin/sponsor/pledges/details/?id={theirs.id}").status_code == 404


def test_the_sponsor_withdraws_a_pending_pledge(world, login):
    pledge = _pending(world.sponsor, world.community)
    total = pledge.project.pledged_total
    response = login(world.sponsor).post("/admin/sponsor/pledges/withdraw/", data={"id": pledge.id})
    assert response.status_code == 302
    db.session.expire_all()
    pledge = db.session.get(Pledge, pledge.id)
    assert pledge.status == "withdrawn"
    assert pledge.project.pledged_total == total - Decimal("10")


def test_withdrawing_another_organisations_pledge_is_not_found(world, login):
    pledge = _pending(world.other_sponsor, world.community)
    before = _snapshot(pledge.id)
    response = login(world.sponsor).post("/admin/sponsor/pledges/withdraw/", data={"id": pledge.id})
    assert response.status_code == 404
    assert _snapshot(pledge.id) == before


def test_an_approved_pledge_is_not_withdrawn(world, login):
    approved = make_pledge(
        make_project(world.community), world.sponsor.organisation, status="approved"
    )
    before = _snapshot(approved.id)
    client = login(world.sponsor)
    response = client.post(
        "/admin/sponsor/pledges/withdraw/", data={"id": approved.id}, follow_redirects=True
    )
    assert "街道" in _flashes(response)
    assert _snapshot(approved.id) == before


@pytest.mark.parametrize("role", STAFF)
def test_staff_cannot_withdraw_for_a_sponsor(world, login, role):
    pledge = _pending(world.sponsor, world.community)
    before = _snapshot(pledge.id)
    response = login(world.user(role)).post(
        "/admin/sponsor/pledges/withdraw/", data={"id": pledge.id}
    )
    assert response.status_code == 403
    assert _snapshot(pledge.id) == before


# ------------------------------------------------------------- staff: deciding
def test_the_street_clerk_approves_and_rejects(world, login):
    approve = _pending(world.sponsor, world.community)
    reject = _pending(world.other_sponsor, world.neighbour)
    client = login(world.clerk)
    page = client.get(f"/admin/pledge/details/?id={approve.id}").text
    assert 'id="decide-pledge"' in page
    assert (
        client.post(
            "/admin/pledge/decide/", data={"id": approve.id, "decision": "approve", "note": "同意"}
        ).status_code
        == 302
    )
    response = client.post(
        "/admin/pledge/decide/",
        data={"id": reject.id, "decision": "reject", "note": ""},
        follow_redirects=True,
    )
    assert "驳回理由" in _flashes(response)
    assert _snapshot(reject.id)[0] == "pending"
    client.post(
        "/admin/pledge/decide/", data={"id": reject.id, "decision": "reject", "note": "重复"}
    )
    db.session.expire_all()
    clerk = world.clerk
    approved, rejected = db.session.get(Pledge, approve.id), db.session.get(Pledge, reject.id)
    assert (approved.status, approved.decided_by_id, approved.decision_note) == (
        "approved",
        clerk.id,
        "同意",
    )
    assert (rejected.status, rejected.decision_note) == ("rejected", "重复")
    assert approved.organisation in approved.project.sponsors


def test_an_unknown_decision_is_a_bad_request(world, login):
    pledge = _pending(world.sponsor, world.community)
    before = _snapshot(pledge.id)
    response = login(world.admin).post(
        "/admin/pledge/decide/", data={"id": pledge.id, "decision": "delete"}
    )
    assert response.status_code == 400
    assert _snapshot(pledge.id) == before


@pytest.mark.parametrize(
    ("role", "place", "expected"),
    [
        ("street_clerk", "far_community", 404),  # another street's pledge
        ("district_manager", "community", 403),  # reads, never decides
        ("community_worker", "community", 403),
        ("sponsor", "community", 403),
    ],
)
def test_deciding_outside_scope_or_role_is_refused(world, login, role, place, expected):
    pledge = _pending(world.sponsor, getattr(world, place))
    before = _snapshot(pledge.id)
    client = login(world.user(role))
    for decision in ("approve", "reject"):
        response = client.post(
            "/admin/pledge/decide/", data={"id": pledge.id, "decision": decision, "note": "x"}
        )
        assert response.status_code == expected
    assert (
        client.post(
            "/admin/pledge/received/", data={"id": pledge.id, "received_on": "2026-01-01"}
        ).status_code
        == expected
    )
    assert _snapshot(pledge.id) == before


def test_malformed_ids_on_decisions_are_not_found(shared_world, shared_login):
    client = shared_login(shared_world.admin)
    for raw in ("", "1,2", "abc", "-1", "99999999"):
        response = client.post("/admin/pledge/decide/", data={"id": raw, "decision": "approve"})
        assert response.status_code == 404


def test_anonymous_posts_go_to_the_login_page(shared_app):
    client = shared_app.test_client()
    for path in (
        "/admin/pledge/decide/",
        "/admin/pledge/received/",
        "/admin/sponsor/pledges/withdraw/",
        "/admin/sponsor/projects/pledge/",
    ):
        response = client.post(path, data={"id": 1})
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.get("/admin/sponsor/impact/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_in_kind_support_is_marked_received_from_the_details_page(world, login):
    project = make_project(world.community)
    user = world.sponsor
    pledge = sponsorship.pledge(
        project,
        organisation=user.organisation,
        user=user,
        amount="50",
        kind="in_kind",
        in_kind_description="棉被10床",
    )
    sponsorship.approve_pledge(pledge, user=world.admin)
    client = login(world.clerk)
    page = client.get(f"/admin/pledge/details/?id={pledge.id}").text
    assert 'id="mark-received"' in page
    response = client.post(
        "/admin/pledge/received/",
        data={"id": pledge.id, "received_on": "not-a-date"},
        follow_redirects=True,
    )
    assert _flashes(response)
    assert _snapshot(pledge.id)[2] is None
    client.post("/admin/pledge/received/", data={"id": pledge.id, "received_on": "2026-02-03"})
    assert _snapshot(pledge.id)[2] == dt.date(2026, 2, 3)


def test_pledges_cannot_be_edited_created_or_deleted(world, login):
    pledge = make_pledge(make_project(world.community), world.sponsor.organisation)
    before = _snapshot(pledge.id)
    client = login(world.admin)
    assert client.get(f"/admin/pledge/edit/?id={pledge.id}").status_code == 403
    assert (
        client.post(
            f"/admin/pledge/edit/?id={pledge.id}", data={"amount_yuan": "1", "status": "approved"}
        ).status_code
        == 403
    )
    assert client.get("/admin/pledge/new/").status_code == 403
    assert client.post("/admin/pledge/delete/", data={"id": pledge.id}).status_code == 403
    assert _snapshot(pledge.id) == before


def test_staff_project_pages_show_pledged_and_remaining(shared_world, shared_login):
    project = shared_world.open_here  # 1,000 yuan; 100 + 200 pledged
    client = shared_login(shared_world.admin)
    page = client.get(f"/admin/project/details/?id={project.id}").text
    assert "300.00" in page and "700.00" in page
    listing = client.get("/admin/project/?page_size=100").text
    assert "已认领金额" in listing or "Pledged" in listing


# ------------------------------------------------------------- sponsor: impact
@pytest.mark.parametrize("role", ROLES)
def test_our_support_is_for_sponsors_only(shared_world, shared_login, role):
    response = shared_login(shared_world.user(role)).get("/admin/sponsor/impact/")
    assert response.status_code == (200 if role == "sponsor" else 403)


def test_our_support_shows_the_service_figures(shared_world, shared_login):
    organisation = shared_world.sponsor.organisation
    impact = sponsorship.sponsor_impact(organisation)
    page = shared_login(shared_world.sponsor).get("/admin/sponsor/impact/").text
    assert f'id="impact-approved">{format_yuan(impact.approved)}<' in page
    assert f'id="impact-households">{impact.households_reached}<' in page
    assert f'id="impact-communities">{impact.communities_reached}<' in page
    for progress in impact.progress:
        assert progress.project.name in page
    other = sponsorship.sponsor_impact(shared_world.other_sponsor.organisation)
    only_theirs = {p.project.name for p in other.progress} - {
        p.project.name for p in impact.progress
    }
    assert only_theirs == {shared_world.theirs_only.name}
    assert not any(name in page for name in only_theirs)
    # the project it supports, and the one it has a pending pledge on
    assert {p.project.name for p in impact.progress} == {
        shared_world.supported.name,
        shared_world.open_here.name,
    }
    assert impact.approved == Decimal("1000")


def test_shared_evidence_reaches_the_sponsor_as_thumbnails_and_nothing_else(world, login):
    supported = make_project(world.community, status="claimed")
    make_pledge(supported, world.sponsor.organisation, amount="1000", status="approved")
    household = make_household(world.community)
    record = make_service_record(household, project=supported, description="更换纱窗")
    (shared,) = files.attach_files(
        [("完工.jpg", jpeg())],
        caption="纱窗更换完工",
        is_shareable=True,
        service_record=record,
    )
    (private,) = files.attach_files([("入户.jpg", jpeg())], service_record=record)
    db.session.commit()
    client = login(world.sponsor)
    for page in (
        client.get("/admin/sponsor/impact/").text,
        client.get(f"/admin/sponsor/projects/details/?id={supported.id}").text,
    ):
        assert f"/files/{shared.id}/thumbnail" in page
        # staff captions and file names may name a household: sponsors see "照片 1"
        assert "纱窗更换完工" not in page and "完工.jpg" not in page and "照片 1" in page
        assert f"/files/{private.id}" not in page
        assert household.head_name not in page
    assert client.get(f"/files/{shared.id}/thumbnail").status_code == 200
    assert client.get(f"/files/{private.id}/thumbnail").status_code == 404
    other = login(world.other_sponsor)
    assert other.get(f"/files/{shared.id}/thumbnail").status_code == 404
    assert f"/files/{shared.id}" not in other.get("/admin/sponsor/impact/").text
