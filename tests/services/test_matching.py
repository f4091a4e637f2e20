"""Matching needs to resources: what fits, in what order and why; accepting and
releasing matches keeps capacity and need status right, even under concurrency."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from app.extensions import db
from app.models import Household, Need, NeedMatch, Resource, User
from app.services import matching
from app.services.matching import MatchRefused
from tests.factories import area_named, user_named

# reads the demo district's rows; to be converted to tests/factories.py
pytestmark = pytest.mark.demo

TODAY = dt.date(2026, 11, 1)


def _need(community="和平社区", category="meals", urgency="normal", status="open") -> Need:
    household = db.session.scalar(
        select(Household)
        .where(Household.community_id == area_named(community).id)
        .order_by(Household.id)
    )
    need = Need(
        household=household,
        dimension="daily_living",
        category=category,
        description=f"测试需求 {category}",
        urgency=urgency,
        status=status,
        identified_on=TODAY,
    )
    db.session.add(need)
    db.session.flush()
    return need


def _resource(name, *, kind="service", category=None, served=(), **extra) -> Resource:
    values = {
        "provider_person": "测试提供者",
        "available_from": dt.date(2026, 1, 1),
        "status": "available",
        **extra,
    }
    resource = Resource(
        name=name,
        kind=kind,
        category=category,
        served_areas=[area_named(a) for a in served],
        **values,
    )
    db.session.add(resource)
    db.session.flush()
    return resource


@pytest.fixture
def only_test_resources(app):
    """Withdraw the demo resources, so only the ones a test makes can be suggested."""
    db.session.execute(update(Resource).values(status="withdrawn"))
    db.session.flush()


def _names(suggestions):
    return [s.item.name for s in suggestions]


def _suggest(need, username="admin", **kw):
    with force_locale("zh_Hans_CN"):
        return matching.suggest_resources(need, user_named(username), today=TODAY, **kw)


# ------------------------------------------------------------------ what fits
def test_resources_fit_by_category_or_by_a_kind_that_meets_it(only_test_resources):
    need = _need(category="meals")
    _resource("同类别", kind="employment", category="meals", served=["瑶海区"])
    _resource("可用的种类", kind="funds", served=["瑶海区"])
    _resource("不合适的种类", kind="policy", served=["瑶海区"])
    _resource("别的类别", kind="policy", category="policy", served=["瑶海区"])
    assert sorted(_names(_suggest(need))) == sorted(["同类别", "可用的种类"])


def test_area_coverage_by_served_areas_or_the_owner_area(only_test_resources):
    need = _need("和平社区", category="meals")
    chengdong, dongying = area_named("城东街道"), area_named("东郢社区")
    other_street = area_named("明光路街道")
    fits = {
        "服务本社区": dict(served=["和平社区"]),
        "服务本街道": dict(served=["城东街道"]),
        "服务全区": dict(served=["瑶海区"]),
        "本社区所有": dict(community=area_named("和平社区")),
        "本街道所有": dict(street=chengdong),
        "全区所有": dict(),
    }
    misfits = {
        "服务别的社区": dict(served=["东郢社区"]),
        "服务别的街道": dict(served=["明光路街道"]),
        "别的社区所有": dict(community=dongying),
        "别的街道所有": dict(street=other_street),
        # served areas win over the owner's area
        "本街道所有但只服务东郢": dict(street=chengdong, served=["东郢社区"]),
    }
    for name, kw in {**fits, **misfits}.items():
        _resource(name, category="meals", **kw)
    assert sorted(_names(_suggest(need, limit=50))) == sorted(fits)


def test_capacity_left_is_required_and_unlimited_counts_as_left(only_test_resources):
    need = _need(category="meals")
    _resource("用完", category="meals", served=["瑶海区"], quantity=2, used_quantity=2)
    _resource("剩一份", category="meals", served=["瑶海区"], quantity=2, used_quantity=1, unit="份")
    _resource("不限", category="meals", served=["瑶海区"])
    suggestions = {s.item.name: s.reasons for s in _suggest(need)}
    assert set(suggestions) == {"剩一份", "不限"}
    assert "剩余 1 份" in suggestions["剩一份"]
    assert "不限数量" in suggestions["不限"]


def test_availability_window_and_status(only_test_resources):
    need = _need(category="meals")
    _resource("未开始", category="meals", served=["瑶海区"], available_from=TODAY + dt.timedelta(1))
    _resource(
        "已结束", category="meals", served=["瑶海区"], available_until=TODAY - dt.timedelta(1)
    )
    _resource("今天结束", category="meals", served=["瑶海区"], available_until=TODAY)
    _resource("已用完", category="meals", served=["瑶海区"], status="exhausted")
    _resource("已撤回", category="meals", served=["瑶海区"], status="withdrawn")
    _resource(
        "长期", category="meals", served=["瑶海区"], available_until=TODAY + dt.timedelta(365)
    )
    suggestions = {s.item.name: s.reasons for s in _suggest(need)}
    assert set(suggestions) == {"今天结束", "长期"}
    assert "即将到期（2026-11-01）" in suggestions["今天结束"]
    assert not any("即将到期" in r for r in suggestions["长期"])


def test_ranking_prefers_same_category_then_the_narrowest_area(only_test_resources):
    need = _need(category="meals")
    _resource("种类合适·全区", kind="service", served=["瑶海区"])
    _resource("同类别·全区", category="meals", served=["瑶海区"])
    _resource("同类别·本社区", category="meals", served=["和平社区"])
    _resource("同类别·本街道", category="meals", served=["城东街道"])
    _resource("种类次选·本社区", kind="funds", served=["和平社区"])
    suggestions = _suggest(need)
    assert _names(suggestions) == [
        "同类别·本社区",
        "同类别·本街道",
        "同类别·全区",
        "种类次选·本社区",  # funds meet meals too, and this one is local
        "种类合适·全区",
    ]
    scores = [s.score for s in suggestions]
    assert scores == sorted(scores, reverse=True)
    first = suggestions[0].reasons
    assert first[:2] == ["同类别", "服务范围覆盖本社区"]
    assert suggestions[1].reasons[1] == "服务范围覆盖本街道"
    assert suggestions[2].reasons[1] == "服务范围覆盖全区"
    assert suggestions[3].reasons[0] == "资金 可用于 助餐送餐"
    assert suggestions[4].reasons[0] == "服务 可用于 助餐送餐"


def test_suggestions_follow_the_users_scope(only_test_resources):
    need = _need("和平社区", category="meals")
    _resource(
        "东郢社区的资源", category="meals", community=area_named("东郢社区"), served=["城东街道"]
    )
    _resource("本社区的资源", category="meals", community=area_named("和平社区"))
    assert _names(_suggest(need, "admin")) == ["本社区的资源", "东郢社区的资源"]
    assert _names(_suggest(need, "chengdong")) == ["本社区的资源", "东郢社区的资源"]
    # a community worker cannot read a resource of another community
    assert _names(_suggest(need, "worker")) == ["本社区的资源"]


def test_resources_already_matched_are_left_out_until_released(only_test_resources):
    need = _need(category="meals")
    resource = _resource("已匹配", category="meals", served=["瑶海区"])
    match = matching.accept_match(need, resource, user=user_named("worker"), today=TODAY)
    assert _suggest(need) == []
    matching.release_match(match, user=user_named("worker"), note="家属已能照顾")
    assert _names(_suggest(need)) == ["已匹配"]
    # accepting again reuses the released link
    again = matching.accept_match(need, resource, user=user_named("worker"), today=TODAY)
    assert again.id == match.id and again.status == "active"


def test_needs_a_resource_could_serve(only_test_resources):
    resource = _resource("城东送餐", category="meals", street=area_named("城东街道"))
    heping_low = _need("和平社区", category="meals", urgency="low")
    heping_critical = _need("和平社区", category="meals", urgency="critical")
    dongying = _need("东郢社区", category="meals")
    elsewhere = _need("明光社区", category="meals")
    other_category = _need("和平社区", category="policy")
    matched = _need("和平社区", category="meals", status="matched")

    def ids(username):
        with force_locale("zh_Hans_CN"):
            found = matching.suggest_needs(resource, user_named(username), today=TODAY)
        return [s.item.id for s in found], found

    clerk_ids, found = ids("chengdong")
    test_needs = [i for i in clerk_ids if i in {heping_low.id, heping_critical.id, dongying.id}]
    assert test_needs[0] == heping_critical.id and set(test_needs) == {
        heping_low.id,
        heping_critical.id,
        dongying.id,
    }
    assert not {elsewhere.id, other_category.id, matched.id} & set(clerk_ids)
    assert "紧急程度：紧急" in found[clerk_ids.index(heping_critical.id)].reasons
    worker_ids, _ = ids("worker")
    assert dongying.id not in worker_ids and heping_low.id in worker_ids
    # a resource that cannot be given out suggests nothing
    resource.status = "withdrawn"
    db.session.flush()
    assert ids("admin")[0] == []


# ------------------------------------------------------------ accept / release
def test_accepting_takes_capacity_and_moves_the_need(only_test_resources):
    need = _need(category="warm_pack")
    resource = _resource("米面油", kind="material", category="warm_pack", quantity=3, unit="份")
    match = matching.accept_match(
        need, resource, user=user_named("worker"), quantity=2, today=TODAY
    )
    db.session.commit()
    db.session.refresh(resource)
    assert (resource.used_quantity, resource.status) == (Decimal("2"), "available")
    assert need.status == "matched" and match.status == "active"
    assert match.household_id == need.household_id and match.community_id == need.community_id

    other = _need(category="warm_pack")
    db.session.commit()
    with pytest.raises(MatchRefused, match="剩余不足"):
        matching.accept_match(other, resource, user=user_named("worker"), quantity=2, today=TODAY)
    db.session.rollback()
    assert db.session.get(Need, other.id).status == "open"

    last = matching.accept_match(other, resource, user=user_named("worker"), today=TODAY)
    db.session.commit()
    db.session.refresh(resource)
    assert (resource.used_quantity, resource.status) == (Decimal("3"), "exhausted")

    matching.release_match(last, user=user_named("worker"), note="改由家属照顾")
    db.session.commit()
    db.session.refresh(resource)
    assert (resource.used_quantity, resource.status) == (Decimal("2"), "available")
    assert db.session.get(Need, other.id).status == "open"
    assert last.status == "released" and last.released_at is not None
    assert "改由家属照顾" in last.reason


def test_unlimited_resources_take_any_number_of_matches(only_test_resources):
    resource = _resource("个案辅导", category="meals", served=["瑶海区"])
    for _ in range(5):
        matching.accept_match(
            _need(category="meals"), resource, user=user_named("admin"), today=TODAY
        )
    db.session.commit()
    db.session.refresh(resource)
    assert resource.used_quantity == Decimal("5") and resource.status == "available"


def test_release_keeps_the_need_matched_while_another_match_serves_it(only_test_resources):
    need = _need(category="meals")
    first = _resource("其一", category="meals", served=["瑶海区"])
    second = _resource("其二", category="meals", served=["瑶海区"])
    worker = user_named("worker")
    match = matching.accept_match(need, first, user=worker, today=TODAY)
    matching.accept_match(need, second, user=worker, today=TODAY)
    matching.release_match(match, user=worker, note="重复")
    assert need.status == "matched"
    with pytest.raises(MatchRefused, match="已经释放"):
        matching.release_match(match, user=worker, note="再次")
    other = matching.accept_match(_need(category="meals"), first, user=worker, today=TODAY)
    with pytest.raises(MatchRefused, match="原因"):
        matching.release_match(other, user=worker, note="  ")


@pytest.mark.parametrize(
    ("username", "community", "message"),
    [
        ("manager", "和平社区", "只能匹配"),
        ("sponsor", "和平社区", "只能匹配"),
        ("worker", "东郢社区", "只能匹配"),
        ("chengdong", "明光社区", "只能匹配"),
    ],
)
def test_accept_refuses_needs_outside_the_users_area(
    only_test_resources, username, community, message
):
    need = _need(community, category="meals")
    resource = _resource("全区资源", category="meals", served=["瑶海区"], quantity=1)
    with pytest.raises(MatchRefused, match=message):
        matching.accept_match(need, resource, user=user_named(username), today=TODAY)
    db.session.refresh(resource)
    assert resource.used_quantity == 0 and need.status == "open"


def test_accept_refuses_resources_the_user_cannot_read_and_closed_needs(only_test_resources):
    worker = user_named("worker")
    hidden = _resource("东郢资源", category="meals", community=area_named("东郢社区"))
    with pytest.raises(MatchRefused, match="不在您的辖区"):
        matching.accept_match(_need(category="meals"), hidden, user=worker, today=TODAY)
    met = _need(category="meals", status="met")
    resource = _resource("全区资源", category="meals", served=["瑶海区"])
    with pytest.raises(MatchRefused, match="已满足或已撤销"):
        matching.accept_match(met, resource, user=worker, today=TODAY)
    with pytest.raises(MatchRefused, match="正数"):
        matching.accept_match(_need(), resource, user=worker, quantity="-1", today=TODAY)
    late = _resource("过期", category="meals", served=["瑶海区"], available_until=TODAY)
    with pytest.raises(MatchRefused, match="不能发放"):
        matching.accept_match(_need(), late, user=worker, today=TODAY + dt.timedelta(1))


def test_capacity_cannot_be_edited_below_what_is_in_use(only_test_resources):
    resource = _resource("轮椅", kind="material", category="meals", quantity=2, used_quantity=2)
    db.session.refresh(resource)
    resource.quantity = Decimal("1")
    with pytest.raises(MatchRefused, match="不能少于"):
        matching.check_capacity_change(resource)
    resource.quantity = Decimal("2")
    resource.status = "available"
    matching.check_capacity_change(resource)
    assert resource.status == "exhausted"
    resource.quantity = Decimal("5")
    matching.check_capacity_change(resource)
    assert resource.status == "available"


# -------------------------------------------------------------- concurrency
def test_two_workers_cannot_both_take_the_last_unit(app, backend):
    """Several workers accept at the same moment; only the units left are given."""
    if backend.name != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises every write)")
    db.session.execute(update(Resource).values(status="withdrawn"))
    resource = _resource("最后两台轮椅", kind="material", category="meals", quantity=2)
    need_ids = [_need(category="meals").id for _ in range(6)]
    db.session.commit()
    resource_id, worker_id = resource.id, user_named("worker").id
    barrier = threading.Barrier(len(need_ids))
    outcomes = []

    def take(need_id):
        with app.app_context():
            try:
                need = db.session.get(Need, need_id)
                res = db.session.get(Resource, resource_id)
                user = db.session.get(User, worker_id)
                barrier.wait(timeout=10)
                matching.accept_match(need, res, user=user, today=TODAY)
                db.session.commit()
                outcomes.append("ok")
            except MatchRefused:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=take, args=(i,)) for i in need_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["ok", "ok"] + ["refused"] * 4
    db.session.expire_all()
    resource = db.session.get(Resource, resource_id)
    assert resource.used_quantity == 2 and resource.status == "exhausted"
    active = db.session.scalars(
        select(NeedMatch).where(NeedMatch.resource_id == resource_id, NeedMatch.status == "active")
    ).all()
    assert len(active) == 2
    assert {db.session.get(Need, i).status for i in need_ids} == {"matched", "open"}


def test_the_capacity_check_constraint_is_the_backstop(app):
    resource = _resource("轮椅", kind="material", category="meals", quantity=1)
    db.session.commit()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        db.session.execute(
            update(Resource).where(Resource.id == resource.id).values(used_quantity=2)
        )
    db.session.rollback()


def test_demo_matches_and_records_are_consistent(shared_app):
    """Demo rows exist where the access tests need them, and each resource's used
    capacity is exactly what its active matches take."""
    from sqlalchemy import func

    from app.models import ServiceRecord, StoredFile

    for model in (NeedMatch, ServiceRecord):
        communities = set(db.session.scalars(select(model.community_id)))
        assert area_named("和平社区").id in communities
        assert area_named("东郢社区").id in communities
        streets = set(db.session.scalars(select(model.street_id)))
        assert streets - {area_named("城东街道").id}
    for resource in db.session.scalars(select(Resource)):
        active = db.session.scalar(
            select(func.coalesce(func.sum(NeedMatch.quantity), 0)).where(
                NeedMatch.resource_id == resource.id, NeedMatch.status == "active"
            )
        )
        assert Decimal(str(resource.used_quantity)) == Decimal(str(active)), resource.name
    for match in db.session.scalars(select(NeedMatch).where(NeedMatch.status == "active")):
        assert match.need.status in ("matched", "in_progress", "met")
    shared = db.session.scalars(select(StoredFile).where(StoredFile.is_shareable.is_(True))).all()
    assert shared and all(f.project_id is not None and f.kind == "photo" for f in shared)


def test_a_deleted_or_withdrawn_need_gives_its_capacity_back(only_test_resources, login):
    resource = _resource("助餐名额", category="meals", quantity=2, unit="份")
    deleted, withdrawn = _need(), _need()
    deleted_id, withdrawn_id, resource_id = deleted.id, withdrawn.id, resource.id
    for need in (deleted, withdrawn):
        matching.accept_match(need, resource, user=user_named("worker"), today=TODAY)
    db.session.commit()
    db.session.refresh(resource)
    assert (resource.used_quantity, resource.status) == (Decimal("2"), "exhausted")

    # deleted through the need list: the match goes, and so does its use of the resource
    client = login("community_worker")
    assert client.post("/admin/need/delete/", data={"id": deleted_id}).status_code == 302
    db.session.expunge_all()
    assert db.session.get(Need, deleted_id) is None
    resource = db.session.get(Resource, resource_id)
    assert (resource.used_quantity, resource.status) == (Decimal("1"), "available")

    # withdrawn on the edit form: its match is released
    need = db.session.get(Need, withdrawn_id)
    need.status = "withdrawn"
    db.session.commit()
    db.session.refresh(resource)
    assert resource.used_quantity == Decimal("0")
    assert [m.status for m in need.matches] == ["released"]
