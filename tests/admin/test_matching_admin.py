"""The matching pages as every role: suggestions, accept, release, the resource's
"needs it could serve", the unmatched-needs report; out-of-scope ids are 404."""

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Need, NeedMatch, Resource
from tests.conftest import ROLES
from tests.factories import area_named, count

# reads the demo district's rows; to be converted to tests/factories.py
pytestmark = pytest.mark.demo

STAFF = {"district_admin", "district_manager", "street_clerk", "community_worker"}
WRITERS = {"district_admin", "street_clerk", "community_worker"}


def _need_in(community_name, status="open"):
    return db.session.scalar(
        select(Need)
        .where(Need.community_id == area_named(community_name).id, Need.status == status)
        .order_by(Need.id)
    )


def _open_need_in(community_name) -> Need:
    """An open need of the community (any need of it when none is open)."""
    need = _need_in(community_name) or db.session.scalar(
        select(Need).where(Need.community_id == area_named(community_name).id).order_by(Need.id)
    )
    assert need is not None, f"no need in {community_name}"
    return need


def _district_resource() -> Resource:
    return db.session.scalar(select(Resource).where(Resource.name == "社会救助专项基金"))


def _match_in(community_name) -> NeedMatch:
    return db.session.scalar(
        select(NeedMatch)
        .where(
            NeedMatch.community_id == area_named(community_name).id, NeedMatch.status == "active"
        )
        .order_by(NeedMatch.id)
    )


# ------------------------------------------------------------------ reading
@pytest.mark.parametrize("role", ROLES)
def test_suggestion_page_as_every_role(shared_app, shared_login, role):
    need = _open_need_in("和平社区")
    response = shared_login(role).get(f"/admin/need_match/suggest/?need_id={need.id}")
    assert response.status_code == (200 if role in STAFF else 403)
    if role in STAFF:
        page = response.get_data(as_text=True)
        assert "推荐资源" in page and need.description in page
        assert ('action="/admin/need_match/accept/"' in page) is (role in WRITERS)
        assert 'name="csrf_token"' in page or role not in WRITERS


def test_suggestions_show_reasons(shared_app, shared_login):
    need = db.session.scalar(
        select(Need).where(
            Need.community_id == area_named("和平社区").id,
            Need.status == "open",
            Need.category == "medical",
        )
    ) or _open_need_in("和平社区")
    page = shared_login("community_worker").get(f"/admin/need_match/suggest/?need_id={need.id}")
    text = page.get_data(as_text=True)
    assert "服务范围覆盖" in text and ("不限数量" in text or "剩余" in text)


@pytest.mark.parametrize(
    ("role", "community"),
    [
        ("street_clerk", "明光社区"),
        ("community_worker", "东郢社区"),
        ("community_worker", "明光社区"),
    ],
)
def test_out_of_scope_needs_and_resources_are_not_found(shared_app, shared_login, role, community):
    client = shared_login(role)
    need = _open_need_in(community)
    assert client.get(f"/admin/need_match/suggest/?need_id={need.id}").status_code == 404
    other = db.session.scalar(
        select(Resource).where(
            Resource.community_id.is_not(None), Resource.community_id != area_named("和平社区").id
        )
    ) or db.session.scalar(
        select(Resource).where(Resource.street_id == area_named("胜利路街道").id)
    )
    if role == "street_clerk":
        other = db.session.scalar(
            select(Resource).where(Resource.street_id == area_named("胜利路街道").id)
        )
    assert client.get(f"/admin/need_match/for-resource/?resource_id={other.id}").status_code == 404


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1,2", "99999999", ""])
def test_malformed_ids_are_not_found(shared_app, shared_login, raw):
    client = shared_login("district_admin")
    assert client.get(f"/admin/need_match/suggest/?need_id={raw}").status_code == 404
    assert client.get(f"/admin/need_match/for-resource/?resource_id={raw}").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_needs_a_resource_could_serve_as_every_role(shared_app, shared_login, role):
    resource = _district_resource()
    response = shared_login(role).get(f"/admin/need_match/for-resource/?resource_id={resource.id}")
    assert response.status_code == (200 if role in STAFF else 403)
    if role in ("street_clerk", "community_worker"):
        page = response.get_data(as_text=True)
        shown = {int(i) for i in re.findall(r'data-need-id="(\d+)"', page)}
        allowed = Need.community_id == area_named("和平社区").id
        if role == "street_clerk":
            allowed = Need.street_id == area_named("城东街道").id
        assert shown and shown <= set(db.session.scalars(select(Need.id).where(allowed)))


def test_details_pages_link_to_matching(shared_app, shared_login):
    client = shared_login("community_worker")
    need = _open_need_in("和平社区")
    page = client.get(f"/admin/need/details/?id={need.id}").get_data(as_text=True)
    assert f"/admin/need_match/suggest/?need_id={need.id}" in page
    resource = _district_resource()
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
def test_accept_as_every_role(app, login, role):
    need, resource = _open_need_in("和平社区"), _district_resource()
    need_id, resource_id, before = need.id, resource.id, count(NeedMatch)
    response = login(role).post(
        "/admin/need_match/accept/",
        data={"need_id": need_id, "resource_id": resource_id, "quantity": "1", "reason": "测试"},
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
    ("role", "need_community", "resource_owner"),
    [
        ("community_worker", "东郢社区", None),  # need of another community
        ("community_worker", "和平社区", "东郢社区"),  # resource of another community
        ("street_clerk", "明光社区", None),  # need of another street
        ("street_clerk", "和平社区", "胜利路街道"),  # resource of another street
    ],
)
def test_accept_with_out_of_scope_ids_is_not_found(
    app, login, role, need_community, resource_owner
):
    need = _open_need_in(need_community)
    resource = _district_resource()
    if resource_owner == "东郢社区":
        resource = Resource(
            name="东郢社区助餐",
            kind="service",
            category=need.category,
            provider_person="东郢邻居",
            community=area_named("东郢社区"),
            available_from=dt.date(2026, 1, 1),
        )
        db.session.add(resource)
        db.session.commit()
    elif resource_owner:
        resource = db.session.scalar(
            select(Resource).where(Resource.street_id == area_named(resource_owner).id)
        )
    before, used = count(NeedMatch), resource.used_quantity
    response = login(role).post(
        "/admin/need_match/accept/", data={"need_id": need.id, "resource_id": resource.id}
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert count(NeedMatch) == before
    assert db.session.get(Resource, resource.id).used_quantity == used


def test_refused_accept_is_explained_in_chinese(app, login):
    need = _open_need_in("和平社区")
    resource = db.session.scalar(select(Resource).where(Resource.name == "冬季米面油"))
    client = login("community_worker")
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
def test_release_as_every_role(app, login, role):
    match = _match_in("和平社区")
    match_id, resource_id = match.id, match.resource_id
    used = match.resource.used_quantity
    response = login(role).post(
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
    ("role", "community"),
    [
        ("community_worker", "东郢社区"),
        ("street_clerk", "明光社区"),
        ("community_worker", "明光社区"),
    ],
)
def test_release_out_of_scope_is_not_found(app, login, role, community):
    match = _match_in(community)
    response = login(role).post("/admin/need_match/release/", data={"id": match.id, "note": "x"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(NeedMatch, match.id).status == "active"


def test_release_needs_a_reason(app, login):
    match = _match_in("和平社区")
    response = login("community_worker").post(
        "/admin/need_match/release/", data={"id": match.id, "note": " "}, follow_redirects=True
    )
    assert "请填写释放匹配的原因" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(NeedMatch, match.id).status == "active"


def test_match_details_offer_release_only_to_writers(shared_app, shared_login):
    match = _match_in("和平社区")
    for role, offered in (("community_worker", True), ("district_manager", False)):
        page = shared_login(role).get(f"/admin/need_match/details/?id={match.id}")
        assert page.status_code == 200
        assert ('id="release"' in page.get_data(as_text=True)) is offered


# ------------------------------------------------------------------ the report
def _open_counts(where):
    stmt = select(Need.dimension, func.count()).where(Need.status == "open", where)
    return dict(db.session.execute(stmt.group_by(Need.dimension)).all())


@pytest.mark.parametrize("role", ROLES)
def test_unmatched_needs_report_as_every_role(shared_app, shared_login, role):
    response = shared_login(role).get("/admin/unmatched-needs/")
    assert response.status_code == (200 if role in STAFF else 403)
    if role not in STAFF:
        return
    page = response.get_data(as_text=True)
    rows = dict(re.findall(r'data-area-id="(\d+)">\s*<td>([^<]+)</td>', page))
    names = set(rows.values())
    if role in ("district_admin", "district_manager"):
        assert names == {"城东街道", "明光路街道", "胜利路街道", "七里站街道"}
        expected = sum(_open_counts(Need.id.is_not(None)).values())
    elif role == "street_clerk":
        assert names == {"和平社区", "东郢社区", "新海社区", "周谷堆社区"}
        expected = sum(_open_counts(Need.street_id == area_named("城东街道").id).values())
    else:
        assert names == {"和平社区"}
        expected = sum(_open_counts(Need.community_id == area_named("和平社区").id).values())
    grand = re.search(r"<tfoot>.*?(\d+)</th>\s*</tr></tfoot>", page, re.S)
    assert int(grand.group(1)) == expected


def test_report_links_open_the_filtered_need_list(shared_app, shared_login):
    client = shared_login("street_clerk")
    page = client.get("/admin/unmatched-needs/").get_data(as_text=True)
    heping = area_named("和平社区")
    row = re.search(rf'data-area-id="{heping.id}">(.*?)</tr>', page, re.S).group(1)
    links = re.findall(r'href="([^"]+)">(\d+)</a>', row)
    assert links
    for link, number in links[:-1]:  # one per dimension with needs; the last is the total
        listing = client.get(link.replace("&amp;", "&") + "&page_size=100").get_data(as_text=True)
        shown = set(re.findall(r'name="rowid"[^>]*value="(\d+)"', listing))
        assert len(shown) == int(number)
        for need_id in shown:
            need = db.session.get(Need, int(need_id))
            assert need.status == "open" and need.community_id == heping.id
