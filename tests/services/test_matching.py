"""Matching needs to resources: what fits, in what order and why; accepting and
releasing matches keeps capacity and need status right, even under concurrency."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from app.extensions import db
from app.models import Need, NeedMatch, Resource, User
from app.services import matching
from app.services.matching import MatchRefused
from tests.factories import make_household, make_need, make_resource

TODAY = dt.date(2026, 11, 1)


def _need(community, category="meals", urgency="normal", status="open") -> Need:
    return make_need(
        make_household(community),
        category=category,
        description=f"测试需求 {category}",
        urgency=urgency,
        status=status,
        identified_on=TODAY,
    )


def _names(suggestions):
    return [s.item.name for s in suggestions]


def _suggest(need, user, **kw):
    with force_locale("zh_Hans_CN"):
        return matching.suggest_resources(need, user, today=TODAY, **kw)


# ------------------------------------------------------------------ what fits
def test_resources_fit_by_category_or_by_a_kind_that_meets_it(world):
    need = _need(world.community, category="meals")
    make_resource(name="同类别", kind="employment", category="meals", served=[world.district])
    make_resource(name="可用的种类", category=None, kind="funds", served=[world.district])
    make_resource(name="不合适的种类", category=None, kind="policy", served=[world.district])
    make_resource(name="别的类别", kind="policy", category="policy", served=[world.district])
    assert sorted(_names(_suggest(need, world.admin))) == sorted(["同类别", "可用的种类"])


def test_area_coverage_by_served_areas_or_the_owner_area(world):
    need = _need(world.community, category="meals")
    street, neighbour = world.street, world.neighbour
    other_street = world.far_street
    fits = {
        "服务本社区": dict(served=[world.community]),
        "服务本街道": dict(served=[world.street]),
        "服务全区": dict(served=[world.district]),
        "本社区所有": dict(community=world.community),
        "本街道所有": dict(street=street),
        "全区所有": dict(),
    }
    misfits = {
        "服务别的社区": dict(served=[world.neighbour]),
        "服务别的街道": dict(served=[world.far_street]),
        "别的社区所有": dict(community=neighbour),
        "别的街道所有": dict(street=other_street),
        # served areas win over the owner's area
        "本街道所有但只服务东郢": dict(street=street, served=[world.neighbour]),
    }
    for name, kw in {**fits, **misfits}.items():
        make_resource(name=name, category="meals", **kw)
    assert sorted(_names(_suggest(need, world.admin, limit=50))) == sorted(fits)


def test_capacity_left_is_required_and_unlimited_counts_as_left(world):
    need = _need(world.community, category="meals")
    make_resource(
        name="用完", category="meals", served=[world.district], quantity=2, used_quantity=2
    )
    make_resource(
        name="剩一份",
        category="meals",
        served=[world.district],
        quantity=2,
        used_quantity=1,
        unit="份",
    )
    make_resource(name="不限", category="meals", served=[world.district])
    suggestions = {s.item.name: s.reasons for s in _suggest(need, world.admin)}
    assert set(suggestions) == {"剩一份", "不限"}
    assert "剩余 1 份" in suggestions["剩一份"]
    assert "不限数量" in suggestions["不限"]


def test_availability_window_and_status(world):
    need = _need(world.community, category="meals")
    make_resource(
        name="未开始",
        category="meals",
        served=[world.district],
        available_from=TODAY + dt.timedelta(1),
    )
    make_resource(
        name="已结束",
        category="meals",
        served=[world.district],
        available_until=TODAY - dt.timedelta(1),
    )
    make_resource(name="今天结束", category="meals", served=[world.district], available_until=TODAY)
    make_resource(name="已用完", category="meals", served=[world.district], status="exhausted")
    make_resource(name="已撤回", category="meals", served=[world.district], status="withdrawn")
    make_resource(
        name="长期",
        category="meals",
        served=[world.district],
        available_until=TODAY + dt.timedelta(365),
    )
    suggestions = {s.item.name: s.reasons for s in _suggest(need, world.admin)}
    assert set(suggestions) == {"今天结束", "长期"}
    assert "即将到期（2026-11-01）" in suggestions["今天结束"]
    assert not any("即将到期" in r for r in suggestions["长期"])


def test_ranking_prefers_same_category_then_the_narrowest_area(world):
    need = _need(world.community, category="meals")
    make_resource(name="种类合适·全区", category=None, kind="service", served=[world.district])
    make_resource(name="同类别·全区", category="meals", served=[world.district])
    make_resource(name="同类别·本社区", category="meals", served=[world.community])
    make_resource(name="同类别·本街道", category="meals", served=[world.street])
    make_resource(name="种类次选·本社区", category=None, kind="funds", served=[world.community])
    suggestions = _suggest(need, world.admin)
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


def test_suggestions_follow_the_users_scope(world):
    need = _need(world.community, category="meals")
    make_resource(
        name="东郢社区的资源", category="meals", community=world.neighbour, served=[world.street]
    )
    make_resource(name="本社区的资源", category="meals", community=world.community)
    assert _names(_suggest(need, world.admin)) == ["本社区的资源", "东郢社区的资源"]
    assert _names(_suggest(need, world.clerk)) == ["本社区的资源", "东郢社区的资源"]
    # a community worker cannot read a resource of another community
    assert _names(_suggest(need, world.worker)) == ["本社区的资源"]


def test_resources_already_matched_are_left_out_until_released(world):
    need = _need(world.community, category="meals")
    resource = make_resource(name="已匹配", category="meals", served=[world.district])
    match = matching.accept_match(need, resource, user=world.worker, today=TODAY)
    assert _suggest(need, world.admin) == []
    matching.release_match(match, user=world.worker, note="家属已能照顾")
    assert _names(_suggest(need, world.admin)) == ["已匹配"]
    # accepting again reuses the released link
    again = matching.accept_match(need, resource, user=world.worker, today=TODAY)
    assert again.id == match.id and again.status == "active"


def test_needs_a_resource_could_serve(world):
    resource = make_resource(name="城东送餐", category="meals", street=world.street)
    heping_low = _need(world.community, category="meals", urgency="low")
    heping_critical = _need(world.community, category="meals", urgency="critical")
    neighbour = _need(world.neighbour, category="meals")
    elsewhere = _need(world.far_community, category="meals")
    other_category = _need(world.community, category="policy")
    matched = _need(world.community, category="meals", status="matched")

    def ids(user):
        with force_locale("zh_Hans_CN"):
            found = matching.suggest_needs(resource, user, today=TODAY)
        return [s.item.id for s in found], found

    clerk_ids, found = ids(world.clerk)
    test_needs = [i for i in clerk_ids if i in {heping_low.id, heping_critical.id, neighbour.id}]
    assert test_needs[0] == heping_critical.id and set(test_needs) == {
        heping_low.id,
        heping_critical.id,
        neighbour.id,
    }
    assert not {elsewhere.id, other_category.id, matched.id} & set(clerk_ids)
    assert "紧急程度：紧急" in found[clerk_ids.index(heping_critical.id)].reasons
    worker_ids, _ = ids(world.worker)
    assert neighbour.id not in worker_ids and heping_low.id in worker_ids
    # a resource that cannot be given out suggests nothing
    resource.status = "withdrawn"
    db.session.flush()
    assert ids(world.admin)[0] == []


# ------------------------------------------------------------ accept / release
def test_accepting_takes_capacity_and_moves_the_need(world):
    need = _need(world.community, category="warm_pack")
    resource = make_resource(
        name="米面油", kind="material", category="warm_pack", quantity=3, unit="份"
    )
    match = matching.accept_match(need, resource, user=world.worker, quantity=2, today=TODAY)
    db.session.commit()
    db.session.refresh(resource)
    assert (resource.used_quantity, resource.status) == (Decimal("2"), "available")
    assert need.status == "matched" and match.status == "active"
    assert match.household_id == need.household_id and match.community_id == need.community_id

    other = _need(world.community, category="warm_pack")
    db.session.commit()
    with pytest.raises(MatchRefused, match="剩余不足"):
        matching.accept_match(other, resource, user=world.worker, quantity=2, today=TODAY)
    db.session.rollback()
    assert db.session.get(Need, other.id).status == "open"

    last = matching.accept_match(other, resource, user=world.worker, today=TODAY)
    db.session.commit()
    db.session.refresh(resource)
    assert (resource.used_quantity, resource.status) == (Decimal("3"), "exhausted")

    matching.release_match(last, user=world.worker, note="改由家属照顾")
    db.session.commit()
    db.session.refresh(resource)
    assert (resource.used_quantity, resource.status) == (Decimal("2"), "available")
    assert db.session.get(Need, other.id).status == "open"
    assert last.status == "released" and last.released_at is not None
    assert "改由家属照顾" in last.reason


def test_unlimited_resources_take_any_number_of_matches(world):
    resource = make_resource(name="个案辅导", category="meals", served=[world.district])
    for _ in range(5):
        matching.accept_match(
            _need(world.community, category="meals"), resource, user=world.admin, today=TODAY
        )
    db.session.commit()
    db.session.refresh(resource)
    assert resource.used_quantity == Decimal("5") and resource.status == "available"


def test_release_keeps_the_need_matched_while_another_match_serves_it(world):
    need = _need(world.community, category="meals")
    first = make_resource(name="其一", category="meals", served=[world.district])
    second = make_resource(name="其二", category="meals", served=[world.district])
    worker = world.worker
    match = matching.accept_match(need, first, user=worker, today=TODAY)
    matching.accept_match(need, second, user=worker, today=TODAY)
    matching.release_match(match, user=worker, note="重复")
    assert need.status == "matched"
    with pytest.raises(MatchRefused, match="已经释放"):
        matching.release_match(match, user=worker, note="再次")
    other = matching.accept_match(
        _need(world.community, category="meals"), first, user=worker, today=TODAY
    )
    with pytest.raises(MatchRefused, match="原因"):
        matching.release_match(other, user=worker, note="  ")


@pytest.mark.parametrize(
    ("who", "place", "message"),
    [
        ("manager", "community", "只能匹配"),
        ("sponsor", "community", "只能匹配"),
        ("worker", "neighbour", "只能匹配"),
        ("clerk", "far_community", "只能匹配"),
    ],
)
def test_accept_refuses_needs_outside_the_users_area(world, who, place, message):
    need = _need(getattr(world, place), category="meals")
    resource = make_resource(name="全区资源", category="meals", served=[world.district], quantity=1)
    with pytest.raises(MatchRefused, match=message):
        matching.accept_match(need, resource, user=getattr(world, who), today=TODAY)
    db.session.refresh(resource)
    assert resource.used_quantity == 0 and need.status == "open"


def test_accept_refuses_resources_the_user_cannot_read_and_closed_needs(world):
    worker = world.worker
    hidden = make_resource(name="东郢资源", category="meals", community=world.neighbour)
    with pytest.raises(MatchRefused, match="不在您的辖区"):
        matching.accept_match(
            _need(world.community, category="meals"), hidden, user=worker, today=TODAY
        )
    met = _need(world.community, category="meals", status="met")
    resource = make_resource(name="全区资源", category="meals", served=[world.district])
    with pytest.raises(MatchRefused, match="已满足或已撤销"):
        matching.accept_match(met, resource, user=worker, today=TODAY)
    with pytest.raises(MatchRefused, match="正数"):
        matching.accept_match(
            _need(world.community), resource, user=worker, quantity="-1", today=TODAY
        )
    late = make_resource(
        name="过期", category="meals", served=[world.district], available_until=TODAY
    )
    with pytest.raises(MatchRefused, match="不能发放"):
        matching.accept_match(
            _need(world.community), late, user=worker, today=TODAY + dt.timedelta(1)
        )


def test_capacity_cannot_be_edited_below_what_is_in_use(world):
    resource = make_resource(
        name="轮椅", kind="material", category="meals", quantity=2, used_quantity=2
    )
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
def test_two_workers_cannot_both_take_the_last_unit(world, app, backend):
    """Several workers accept at the same moment; only the units left are given."""
    if backend.name != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises every write)")
    resource = make_resource(name="最后两台轮椅", kind="material", category="meals", quantity=2)
    need_ids = [_need(world.community, category="meals").id for _ in range(6)]
    db.session.commit()
    resource_id, worker_id = resource.id, world.worker.id
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
    resource = make_resource(name="轮椅", kind="material", category="meals", quantity=1)
    db.session.commit()
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        db.session.execute(
            update(Resource).where(Resource.id == resource.id).values(used_quantity=2)
        )
    db.session.rollback()


def test_an_archived_or_withdrawn_need_gives_its_capacity_back(world, login):
    resource = make_resource(name="助餐名额", category="meals", quantity=2, unit="份")
    archived, withdrawn = _need(world.community), _need(world.community)
    archived_id, withdrawn_id, resource_id = archived.id, withdrawn.id, resource.id
    for need in (archived, withdrawn):
        matching.accept_match(need, resource, user=world.worker, today=TODAY)
    db.session.commit()
    db.session.refresh(resource)
    assert (resource.used_quantity, resource.status) == (Decimal("2"), "exhausted")

    # a matched need has a history: it is archived (never deleted), its match is
    # released, and so is its use of the resource
    client = login(world.worker)
    assert client.post("/admin/need/delete/", data={"id": archived_id}).status_code == 403
    response = client.post("/admin/need/archive/", data={"id": archived_id, "reason": "已搬离"})
    assert response.status_code == 302
    db.session.expunge_all()
    assert db.session.get(Need, archived_id).is_archived
    resource = db.session.get(Resource, resource_id)
    assert (resource.used_quantity, resource.status) == (Decimal("1"), "available")

    # withdrawn on the edit form: its match is released
    need = db.session.get(Need, withdrawn_id)
    need.status = "withdrawn"
    db.session.commit()
    db.session.refresh(resource)
    assert resource.used_quantity == Decimal("0")
    assert [m.status for m in need.matches] == ["released"]
