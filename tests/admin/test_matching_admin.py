"""The matching pages as every role: suggestions, accept, release, the resource's
"needs it could serve", the unmatched-needs report; out-of-scope ids are 404."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Need, NeedMatch, Resource
from tests.conftest import ROLES
from tests.factories import count, make_household, make_match, make_need, make_resource

STAFF = {"district_admin", "district_manager", "street_clerk", "community_worker"}
WRITERS = {"district_admin", "street_clerk", "community_worker"}


PLACES = ("community", "neighbour", "far_community")


def _with_needs_and_matches(w):
    """In each place an open medical need and an active match of the district's fund
    resource; a second open need (social) in the worker's community; a resource of
    the neighbour community, one of the far street, and 10 portions of rice and oil
    in the clerk's street."""
    w.needs = {
        place: make_need(
            make_household(getattr(w, place)),
            dimension="physiological",
            category="medical",
            description=f"慢性病长期服药（{place}）",
        )
        for place in PLACES
    }
    make_need(w.needs["community"].household, dimension="social", category="policy")
    w.fund_resource = make_resource(
        name="社会救助专项基金", kind="funds", category="financial", served=[w.district]
    )
    w.matches = {
        place: make_match(make_need(make_household(getattr(w, place))), w.fund_resource)
        for place in PLACES
    }
    w.neighbour_resource = make_resource(name="东郢社区助餐", community=w.neighbour)
    w.far_resource = make_resource(name="外街道的资源", street=w.far_street)
    w.rice = make_resource(
        name="冬季米面油",
        kind="material",
        category="warm_pack",
        quantity=Decimal("10"),
        unit="份",
        street=w.street,
    )
    db.session.commit()
    return w


@pytest.fixture
def world(world):
    return _with_needs_and_matches(world)


@pytest.fixture(scope="module")
def shared_world(shared_world):
    return _with_needs_and_matches(shared_world)


# ------------------------------------------------------------------ reading
@pytest.mark.parametrize("role", ROLES)
def test_suggestion_page_as_every_role(shared_world, shared_login, role):
    need = shared_world.needs["community"]
    response = shared_login(shared_world.user(role)).get(
        f"/admin/need_match/suggest/?need_id={need.id}"
    )
    assert response.status_code == (200 if role in STAFF else 403)
    if role in STAFF:
        page = response.get_data(as_text=True)
        assert "推荐资源" in page and need.description in page
        assert ('action="/admin/need_match/accept/"' in page) is (role in WRITERS)
        assert 'name="csrf_token"' in page or role not in WRITERS


def test_suggestions_show_reasons(shared_world, shared_login):
    need = shared_world.needs["community"]
    page = shared_login(shared_world.worker).get(f"/admin/need_match/suggest/?need_id={need.id}")
    text = page.get_data(as_text=True)
    assert "服务范围覆盖" in text and ("不限数量" in text or "剩余" in text)
    assert shared_world.fund_resource.name in text


@pytest.mark.parametrize(
    ("role", "place"),
    [
        ("street_clerk", "far_community"),
        ("community_worker", "neighbour"),
        ("community_worker", "far_community"),
    ],
)
def test_out_of_scope_needs_and_resources_are_not_found(shared_world, shared_login, role, place):
    client = shared_login(shared_world.user(role))
    need = shared_world.needs[place]
    assert client.get(f"/admin/need_match/suggest/?need_id={need.id}").status_code == 404
    other = shared_world.neighbour_resource
    if role == "street_clerk":
        other = shared_world.far_resource
    assert client.get(f"/admin/need_match/for-resource/?resource_id={other.id}").status_code == 404


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1,2", "99999999", ""])
def test_malformed_ids_are_not_found(shared_world, shared_login, raw):
    client = shared_login(shared_world.admin)
    assert client.get(f"/admin/need_match/suggest/?need_id={raw}").status_code == 404
    assert client.get(f"/admin/need_match/for-resource/?resource_id={raw}").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_needs_a_resource_could_serve_as_every_role(shared_world, shared_login, role):
    resource = shared_world.fund_resource
    response = shared_login(shared_world.user(role)).get(
        f"/admin/need_match/for-resource/?resource_id={resource.id}"
    )
    assert response.status_code == (200 if role in STAFF else 403)
    if role in ("street_clerk", "community_worker"):
        page = response.get_data(as_text=True)
        shown = {int(i) for i in re.findall(r'data-need-id="(\d+)"', page)}
        allowed = Need.community_id == shared_world.community.id
        if role == "street_clerk":
            allowed = Need.street_id == shared_world.street.id
        assert shown and shown <= set(db.session.scalars(select(Need.id).where(allowed)))


def test_details_pages_link_to_matching(shared_world, shared_login):
    client = shared_login(shared_world.worker)
    need = shared_world.needs["community"]
    page = client.get(f"/admin/need/details/?id={need.id}").get_data(as_text=True)
    assert f"/admin/need_match/suggest/?need_id={need.id}" in page
    resource = shared_world.fund_resource
    page = client.get(f"/admin/resource/details/?id={resource.id}").get_data(as_text=True)
    assert f"/admin/need_match/for-resource/?resource_id={resource.id}" in page
    listing = client.get("/admin/resource/").get_data(as_text=True)
    assert "已用" in listing and "剩余" in listing


def test_anonymous_users_are_sent_to_login(shared_app):
    client = shared_app.test_client()
    for path in (
        "/admin/need_match/suggest/?need_id=1",
        "/admin/need_match/for-resource/?resource_id=1",
        "/admin/unmatched-needs/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    for path in ("/admin/need_match/accept/", "/admin/need_match/release/"):
        response = client.post(path, data={"need_id": 1, "resource_id": 1, "id": 1})
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# ------------------------------------------------------------------ accepting
@pytest.mark.parametrize("role", ROLES)
def test_accept_as_every_role(world, login, role):
    need, resource = world.needs["community"], world.fund_resource
    need_id, resource_id, before = need.id, resource.id, count(NeedMatch)
    response = login(world.user(role)).post(
        "/admin/need_match/accept/",
        data={
            "need_id": need_id,
            "resource_id": resource_id,
            "quantity": "1",
            "reason": "测试",
        },
    )
    db.session.expire_all()
    if role in WRITERS:
        assert response.status_code == 302
        match = db.session.scalar(
            select(NeedMatch).where(
                NeedMatch.need_id == need_id, NeedMatch.resource_id == resource_id
            )
        )
        assert match.status == "active" and match.reason == "测试"
        assert db.session.get(Need, need_id).status == "matched"
    else:
        assert response.status_code == 403
        assert count(NeedMatch) == before
        assert db.session.get(Need, need_id).status == "open"


@pytest.mark.parametrize(
    ("role", "need_place", "resource"),
    [
        ("community_worker", "neighbour", "fund_resource"),  # need of another community
        ("community_worker", "community", "neighbour_resource"),  # resource of another one
        ("street_clerk", "far_community", "fund_resource"),  # need of another street
        ("street_clerk", "community", "far_resource"),  # resource of another street
    ],
)
def test_accept_with_out_of_scope_ids_is_not_found(world, login, role, need_place, resource):
    need, resource = world.needs[need_place], getattr(world, resource)
    before, used = count(NeedMatch), resource.used_quantity
    response = login(world.user(role)).post(
        "/admin/need_match/accept/", data={"need_id": need.id, "resource_id": resource.id}
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert count(NeedMatch) == before
    assert db.session.get(Resource, resource.id).used_quantity == used


def test_refused_accept_is_explained_in_chinese(world, login):
    need = world.needs["community"]
    resource = world.rice
    client = login(world.worker)
    response = client.post(
        "/admin/need_match/accept/",
        data={"need_id": need.id, "resource_id": resource.id, "quantity": "999"},
        follow_redirects=True,
    )
    assert "剩余不足" in response.get_data(as_text=True)
    response = client.post(
        "/admin/need_match/accept/",
        data={"need_id": need.id, "resource_id": resource.id, "quantity": "abc"},
        follow_redirects=True,
    )
    assert "数量必须是正数" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Need, need.id).status == "open"


# ------------------------------------------------------------------ releasing
@pytest.mark.parametrize("role", ROLES)
def test_release_as_every_role(world, login, role):
    match = world.matches["community"]
    match_id, resource_id = match.id, match.resource_id
    used = match.resource.used_quantity
    response = login(world.user(role)).post(
        "/admin/need_match/release/", data={"id": match_id, "note": "不再需要"}
    )
    db.session.expire_all()
    match = db.session.get(NeedMatch, match_id)
    if role in WRITERS:
        assert response.status_code == 302
        assert match.status == "released"
        assert db.session.get(Resource, resource_id).used_quantity == used - match.quantity
    else:
        assert response.status_code == 403
        assert match.status == "active"


@pytest.mark.parametrize(
    ("role", "place"),
    [
        ("community_worker", "neighbour"),
        ("street_clerk", "far_community"),
        ("community_worker", "far_community"),
    ],
)
def test_release_out_of_scope_is_not_found(world, login, role, place):
    match = world.matches[place]
    response = login(world.user(role)).post(
        "/admin/need_match/release/", data={"id": match.id, "note": "x"}
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(NeedMatch, match.id).status == "active"


def test_release_needs_a_reason(world, login):
    match = world.matches["community"]
    response = login(world.worker).post(
        "/admin/need_match/release/",
        data={"id": match.id, "note": " "},
        follow_redirects=True,
    )
    assert "请填写释放匹配的原因" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(NeedMatch, match.id).status == "active"


def test_match_details_offer_release_only_to_writers(shared_world, shared_login):
    match = shared_world.matches["community"]
    for role, offered in (("community_worker", True), ("district_manager", False)):
        page = shared_login(shared_world.user(role)).get(
            f"/admin/need_match/details/?id={match.id}"
        )
        assert page.status_code == 200
        assert ('id="release"' in page.get_data(as_text=True)) is offered


# ------------------------------------------------------------------ the report
def _open_counts(where):
    stmt = select(Need.dimension, func.count()).where(Need.status == "open", where)
    return dict(db.session.execute(stmt.group_by(Need.dimension)).all())


@pytest.mark.parametrize("role", ROLES)
def test_unmatched_needs_report_as_every_role(shared_world, shared_login, role):
    response = shared_login(shared_world.user(role)).get("/admin/unmatched-needs/")
    assert response.status_code == (200 if role in STAFF else 403)
    if role not in STAFF:
        return
    page = response.get_data(as_text=True)
    rows = dict(re.findall(r'data-area-id="(\d+)">\s*<td>([^<]+)</td>', page))
    names = set(rows.values())
    w = shared_world
    # open needs: two in the worker's community, one in the neighbour, one far away
    if role in ("district_admin", "district_manager"):
        assert names == {w.street.name, w.far_street.name}
        expected = sum(_open_counts(Need.id.is_not(None)).values())
        assert expected == 4
    elif role == "street_clerk":
        assert names == {w.community.name, w.neighbour.name}
        expected = sum(_open_counts(Need.street_id == w.street.id).values())
        assert expected == 3
    else:
        assert names == {w.community.name}
        expected = sum(_open_counts(Need.community_id == w.community.id).values())
        assert expected == 2
    grand = re.search(r"<tfoot>.*?(\d+)</th>\s*</tr></tfoot>", page, re.S)
    assert int(grand.group(1)) == expected


def test_report_links_open_the_filtered_need_list(shared_world, shared_login):
    client = shared_login(shared_world.clerk)
    page = client.get("/admin/unmatched-needs/").get_data(as_text=True)
    heping = shared_world.community
    row = re.search(rf'data-area-id="{heping.id}">(.*?)</tr>', page, re.S).group(1)
    links = re.findall(r'href="([^"]+)">(\d+)</a>', row)
    # one link per dimension with open needs (the total, in <strong>, is not matched)
    assert [number for _link, number in links] == ["1", "1"]
    assert "<strong>2</strong>" in row
    for link, number in links:
        listing = client.get(link.replace("&amp;", "&") + "&page_size=100").get_data(as_text=True)
        shown = set(re.findall(r'name="rowid"[^>]*value="(\d+)"', listing))
        assert len(shown) == int(number)
        for need_id in shown:
            need = db.session.get(Need, int(need_id))
            assert need.status == "open" and need.community_id == heping.id
