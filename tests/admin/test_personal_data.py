"""Personal data: masked in lists and exports, full only for those who may edit the
household, never for sponsors, never in URLs."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Household, Project
from app.services import files
from app.validation import ID_NUMBER_PATTERN, PHONE_PATTERN, mask_id_number, mask_phone
from tests.conftest import ROLES
from tests.factories import (
    jpeg,
    make_household,
    make_member,
    make_need,
    make_organisation,
    make_pledge,
    make_project,
    make_resource,
    make_service_record,
)


@pytest.fixture(scope="module")
def shared_world(shared_world):
    """The module's world, with personal data everywhere a sponsor must not reach it:
    households (named heads, members with ID numbers, phones, incomes) in every place;
    open projects in each place; the sponsor's claimed household project with a
    shareable photo and its pledges; the other sponsor's project in progress; pending
    and withdrawn pledges of both; a provider's mobile phone on a resource."""
    w = shared_world
    places = (w.community, w.neighbour, w.far_community)
    households = []
    for place in places:
        for _ in range(2):
            household = make_household(place, monthly_income=Decimal("820"))
            make_member(household)
            make_need(household)
            households.append(household)
    w.household = households[0]  # of the worker's community
    w.other_street_household = households[-1]
    for place in places:
        open_project = make_project(place)
        make_pledge(open_project, w.sponsor.organisation, amount="100")
        make_pledge(open_project, w.other_sponsor.organisation, amount="50", status="withdrawn")
    theirs = make_project(beneficiaries=households[:2], status="claimed", name="到户帮扶（已认领）")
    make_pledge(theirs, w.sponsor.organisation, amount="1000", status="approved")
    others = make_project(w.far_community, status="in_progress")
    make_pledge(others, w.other_sponsor.organisation, amount="1000", status="approved")
    make_project(w.neighbour, status="draft")
    record = make_service_record(households[0], project=theirs)
    files.attach_files([("完工.jpg", jpeg())], is_shareable=True, service_record=record)
    files.attach_files([("入户.jpg", jpeg())], service_record=record)
    make_resource(provider_phone="13900001111", served=[w.district])
    make_organisation("social_org", contact_phone="0551-64200005")
    db.session.commit()
    return w


@pytest.mark.parametrize(
    "role", ["district_admin", "district_manager", "street_clerk", "community_worker"]
)
def test_lists_and_exports_show_masked_ids_and_phones_to_everyone(shared_world, shared_login, role):
    client = shared_login(shared_world.user(role))
    household = shared_world.household
    for path in (
        "/admin/household/",
        "/admin/member/",
        "/admin/household/export/csv/",
        "/admin/member/export/csv/",
        "/admin/organisation/",
        "/admin/resource/",
    ):
        page = client.get(path).get_data(as_text=True)
        assert not ID_NUMBER_PATTERN.search(page), path
        assert not PHONE_PATTERN.search(page), path
    page = client.get("/admin/household/?page_size=100").get_data(as_text=True)
    assert mask_id_number(household.head_id_number) in page


@pytest.mark.parametrize(
    ("role", "reveals"),
    [
        ("district_admin", True),
        ("street_clerk", True),
        ("community_worker", True),
        ("district_manager", False),
    ],
)
def test_details_reveal_only_to_those_who_may_edit(shared_world, shared_login, role, reveals):
    household = shared_world.household
    client = shared_login(shared_world.user(role))
    page = client.get(f"/admin/household/details/?id={household.id}").get_data(as_text=True)
    # masked on the page for everyone, until 显示 (reveal) is pressed and recorded
    assert household.head_id_number not in page and household.head_phone not in page
    assert mask_id_number(household.head_id_number) in page
    assert mask_phone(household.head_phone) in page
    for field, value in (
        ("head_id_number", household.head_id_number),
        ("head_phone", household.head_phone),
    ):
        revealed = client.post(
            f"/admin/household/reveal/?id={household.id}",
            data={"field": field},
            headers={"Accept": "application/json"},
        )
        assert (revealed.status_code == 200 and revealed.get_json() == {"value": value}) is reveals


def test_income_is_hidden_from_the_manager(shared_world, shared_login):
    household = shared_world.household
    page = (
        shared_login(shared_world.manager)
        .get(f"/admin/household/details/?id={household.id}")
        .get_data(as_text=True)
    )
    assert "***" in page


def _filter_urls(app, endpoint, list_url):
    """Every filter of a list view with every option it offers (or a sample value)."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    urls = []
    with app.test_request_context():
        for arg, (_index, flt) in view._filter_args.items():
            options = flt.get_options(view) if flt.options else None
            for value in [k for k, _label in options] if options else ["1000"]:
                urls.append(f"{list_url}?flt0_{arg}={value}")
    return urls


def _shape(link: str) -> str:
    """A link with its sort and paging values blanked: one of each is enough."""
    path, _, query = link.partition("?")
    params = sorted(
        (k, "*" if k in ("sort", "desc", "page", "page_size") else v)
        for k, _, v in (p.partition("=") for p in query.split("&") if p)
    )
    return path + "?" + "&".join(f"{k}={v}" for k, v in params)


def _links(body: str) -> set[str]:
    found = set(re.findall(r'(?:href|src|action)="(/(?:admin|files)/[^"#]*)"', body))
    return {link.replace("&amp;", "&") for link in found}


def test_sponsor_reaches_no_personal_data_anywhere(shared_world, shared_app, shared_login):
    """Crawl every page a sponsor can reach by following links (details, filters,
    sorting, pages, files), plus every record id and the staff pages it cannot open,
    and scan each answer for ID numbers, phones, household names and addresses."""
    from app.models import Member, Pledge, StoredFile

    client = shared_login(shared_world.sponsor)
    start = [
        "/admin/",
        "/admin/sponsor/projects/?page_size=100",
        "/admin/sponsor/pledges/?page_size=100",
        "/admin/sponsor/impact/",
    ]
    start += _filter_urls(shared_app, "sponsor_project", "/admin/sponsor/projects/")
    start += _filter_urls(shared_app, "sponsor_pledge", "/admin/sponsor/pledges/")
    start += [
        f"/admin/sponsor/projects/details/?id={i}" for i in db.session.scalars(select(Project.id))
    ]
    start += [
        f"/admin/sponsor/pledges/details/?id={i}" for i in db.session.scalars(select(Pledge.id))
    ]
    start += [f"/files/{i}/thumbnail" for i in db.session.scalars(select(StoredFile.id))]
    start += [
        "/admin/household/",
        "/admin/member/",
        "/admin/need/",
        "/admin/household/details/?id=1",
        "/admin/household/export/csv/",
        "/admin/need/ajax/lookup/?name=household&query=",
        "/admin/project/details/?id=1",
        "/admin/project/ajax/lookup/?name=beneficiaries&query=",
        "/admin/pledge/",
        "/admin/pledge/export/csv/",
        "/admin/sponsor/projects/export/csv/",
        "/admin/sponsor/pledges/export/csv/",
    ]
    names = set(db.session.scalars(select(Household.head_name)))
    names |= set(db.session.scalars(select(Member.name)))
    addresses = {a for a in db.session.scalars(select(Household.address)) if a}
    seen, queue, reached = set(), list(start), 0
    while queue and len(seen) < 600:
        path = queue.pop(0)
        if _shape(path) in seen or "/logout" in path:
            continue
        seen.add(_shape(path))
        response = client.get(path)
        body = response.get_data(as_text=True) if response.mimetype.startswith("text") else ""
        assert not ID_NUMBER_PATTERN.search(body), path
        assert not PHONE_PATTERN.search(body), path
        assert not any(a in body for a in addresses), path
        if response.status_code == 200:
            reached += 1
            shown = {n for n in names if len(n) >= 2 and f">{n}<" in body}
            assert not shown, f"{path} names households {shown}"
            queue += [link for link in _links(body) if _shape(link) not in seen]
    assert reached >= 40, reached
    assert len(names) == 12 and len(addresses) == 6
    assert len(seen) < 600, "the crawl did not finish"


def test_sponsor_sees_open_and_own_projects_only(shared_world, shared_login):
    page = (
        shared_login(shared_world.sponsor)
        .get("/admin/sponsor/projects/?page_size=100")
        .get_data(as_text=True)
    )
    for project in db.session.scalars(select(Project)):
        sponsored = shared_world.sponsor.organisation in project.sponsors
        assert (project.name in page) == (project.status == "open" or sponsored), project.name


def test_find_by_full_id_number_is_a_post_and_stays_in_scope(shared_world, shared_login):
    household = shared_world.household
    clerk = shared_login(shared_world.clerk)
    response = clerk.post("/admin/household/find/", data={"id_number": household.head_id_number})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"details/?id={household.id}")
    assert household.head_id_number not in response.headers["Location"]
    other = shared_world.other_street_household
    response = shared_login(shared_world.clerk).post(
        "/admin/household/find/", data={"id_number": other.head_id_number}
    )
    assert "details" not in response.headers["Location"]
    assert (
        shared_login(shared_world.sponsor)
        .post("/admin/household/find/", data={"id_number": other.head_id_number})
        .status_code
        == 403
    )


def test_find_by_a_member_id_number(shared_world, shared_login):
    from app.models import Member

    member = db.session.scalar(select(Member).where(Member.id_number.is_not(None)))
    response = shared_login(shared_world.admin).post(
        "/admin/household/find/", data={"id_number": member.id_number}
    )
    assert response.headers["Location"].endswith(f"details/?id={member.household_id}")


def test_log_lines_are_scrubbed_of_ids_and_phones(shared_app, caplog):
    import logging

    logging.getLogger("werkzeug").warning("GET /x?q=11010519491231002X&p=13812345678")
    text = caplog.text
    assert "11010519491231002X" not in text and "13812345678" not in text


@pytest.mark.parametrize("role", ROLES)
def test_no_page_puts_an_id_number_in_a_link(shared_world, shared_login, role):
    client = shared_login(shared_world.user(role))
    for path in ("/admin/", "/admin/household/", "/admin/sponsor/projects/"):
        body = client.get(path).get_data(as_text=True)
        for href in re.findall(r'href="([^"]+)"', body):
            assert not ID_NUMBER_PATTERN.search(href)
