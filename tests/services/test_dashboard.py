"""The dashboard's figures against a small district worked out by hand
(``factories.make_dashboard_district``), period and street narrowing, scope, and the
statement count that must not grow with the data."""

import datetime as dt
from decimal import Decimal

import pytest

from app import access
from app.services import dashboard
from app.services.dashboard.sql import median
from tests.factories import (
    DASHBOARD_MONTH,
    DASHBOARD_TODAY,
    count_queries,
    make_dashboard_district,
    make_household,
    make_need,
)

NOVEMBER = dashboard.month_period(DASHBOARD_MONTH)


def _build(scope, period=NOVEMBER):
    return dashboard.build(scope, period, today=DASHBOARD_TODAY)


def _district(world):
    return access.Scope(role="district_manager", user_id=world.manager.id)


def _street(world, street):
    return access.Scope(role="district_manager", street_id=street.id, user_id=world.manager.id)


def _row(board, area):
    return next(r for r in board.areas if r.id == area.id)


@pytest.fixture
def district(world):
    return make_dashboard_district(world)


def test_median_of_a_histogram():
    assert median({}) is None
    assert median({3: 1}) == 3
    assert median({2: 1, 12: 1}) == 7
    assert median({1: 2, 5: 1}) == 1
    assert median({1: 1, 2: 1, 9: 2}) == 5.5


def test_period_picker():
    today = dt.date(2026, 12, 2)
    assert dashboard.period_for("this_month", today) == dashboard.Period(
        "this_month", dt.date(2026, 12, 1), today
    )
    last = dashboard.period_for("last_month", today)
    assert (last.start, last.end, last.label) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
        "2026-11",
    )
    assert dashboard.period_for("this_year", today).start == dt.date(2026, 1, 1)
    custom = dashboard.period_for("custom", today, dt.date(2027, 1, 5), dt.date(2026, 10, 3))
    assert (custom.start, custom.end) == (dt.date(2026, 10, 3), today)  # ordered, not future
    assert custom.months == ["2026-10", "2026-11", "2026-12"]
    assert dashboard.period_for("custom", today, None, today).kind == "this_month"
    assert dashboard.period_for("nonsense", today).kind == "this_month"


def test_households_by_street_status_and_category(world, district):
    board = _build(_district(world))
    assert board.by_street
    near, far = _row(board, world.street), _row(board, world.far_street)
    # h1..h5 (the archived one left out); h2 helping, h4 closed
    assert (near.households, near.helping, near.closed, near.active) == (5, 1, 1, 4)
    assert (far.households, far.helping, far.closed) == (1, 1, 0)
    assert board.household_status == {"registered": 3, "assessed": 0, "helping": 2, "closed": 1}
    categories = {cid: counts for cid, _name, counts in board.categories}
    assert categories[district["dibao"].id] == {"registered": 1, "closed": 1}
    assert categories[district["tekun"].id] == {"closed": 1}


def test_new_cases_by_month_and_channel(world, district):
    board = _build(_district(world))
    assert board.months == ["2026-11"]
    assert board.intake["2026-11"] == {
        "self_request": 1,
        "government_referral": 1,
        "hospital_referral": 1,
        "community_discovery": 1,
        "institution_referral": 1,
    }
    assert board.new_cases == 5
    assert board.referred_by_organisations == 3
    assert board.referred_share == pytest.approx(0.6)
    assert _row(board, world.street).new_cases == 4
    assert _row(board, world.far_street).new_cases == 1
    # per 100 households not closed: 4 new of 4 active, 1 of 1
    assert _row(board, world.street).new_per_100 == pytest.approx(100.0)


def test_timeliness(world, district):
    board = _build(_district(world))
    near, far = _row(board, world.street), _row(board, world.far_street)
    # h1 on time (2 days), h2 late (12 days), h5 overdue unvisited; h3 not yet due
    assert (near.visited_on_time, near.visits_due) == (1, 3)
    assert near.on_time_share == pytest.approx(1 / 3)
    assert near.median_days_to_visit == 7  # (2 + 12) / 2
    assert (far.visited_on_time, far.visits_due, far.median_days_to_visit) == (1, 1, 1)
    assert board.total.median_days_to_visit == 2  # 1, 2, 12
    # need of h2: found 11-05, matched 11-06, served 11-09
    assert near.median_days_to_match == 1
    assert near.median_days_to_service == 3
    assert far.median_days_to_match is None
    assert board.total.bases["median_days_to_visit"] == 3


def test_visits_on_time_follow_the_setting(app, world, district):
    app.config["VISIT_OVERDUE_DAYS"] = 14
    board = _build(_district(world))
    assert _row(board, world.street).visited_on_time == 2  # 12 days is on time now
    # h5 (11-05) is still inside 14 days on 11-20? No: 15 days have passed
    assert _row(board, world.street).visits_due == 3


def test_needs_by_dimension(world, district):
    board = _build(_district(world))
    assert board.needs["daily_living"]["open"] == 1
    assert board.needs["daily_living"]["met"] == 1
    assert board.needs["physiological"]["matched"] == 1
    assert board.needs["employment"]["met"] == 1
    assert board.needs["social"] == dict.fromkeys(
        ["open", "matched", "in_progress", "met", "withdrawn"], 0
    )
    assert board.needs_median_days["employment"] == 40  # 2026-10-01 → 11-10
    assert board.needs_median_days["daily_living"] == 2
    assert board.needs_median_days["social"] is None
    assert _row(board, world.street).open_needs == 1
    assert _row(board, world.street).needs_met == 1
    assert _row(board, world.far_street).needs_met == 1


def test_projects_and_coverage(world, district):
    board = _build(_district(world))
    # make_fund's project (open, service) in world.community, the one in progress
    # (material) there, the draft (service) in world.neighbour, the household project
    # (claimed, medical) in the far community
    assert board.projects["in_progress"]["material"] == 1
    assert board.projects["open"]["service"] == 1
    assert board.projects["draft"]["service"] == 1
    assert board.projects["claimed"]["medical"] == 1
    coverage = {cid: (total, live) for cid, _n, _s, _sn, total, live in board.coverage}
    assert coverage[world.community.id] == (2, 2)
    assert coverage[world.neighbour.id] == (1, 0)  # a draft does not cover it
    assert coverage[world.far_community.id] == (0, 0)
    assert board.communities_uncovered == 2
    near, far = _row(board, world.street), _row(board, world.far_street)
    assert (near.communities, near.communities_covered, near.live_projects) == (2, 1, 2)
    assert (far.communities, far.communities_covered, far.live_projects) == (1, 0, 1)
    assert (near.households_reached, far.households_reached) == (0, 1)


def test_money(world, district):
    board = _build(_district(world))
    assert board.money == {"2026-11": (Decimal("2000.00"), Decimal("300.00"))}
    assert _row(board, world.far_street).money_out == Decimal("300.00")
    assert _row(board, world.street).money_out == Decimal("0")
    assert dict(board.spending)["medical"] == Decimal("300.00")
    assert board.balance == Decimal("11700.00")  # 10,000 + 2,000 − 300 (500 reversed)
    assert (board.earmarked, board.reserved, board.free) == (0, 0, Decimal("11700.00"))

    year = _build(
        _district(world),
        dashboard.period_for("custom", DASHBOARD_TODAY, dt.date(2026, 1, 1), DASHBOARD_TODAY),
    )
    assert year.money["2026-01"] == (Decimal("10000.00"), Decimal("0"))
    assert year.money["2026-02"] == (Decimal("0"), Decimal("0"))  # 500 out, 500 back
    assert year.money_in == Decimal("12000.00")
    assert dict(year.spending)["service"] == Decimal("0")


def test_earmarked_and_reserved_agree_with_the_fund_overview(world, district):
    from app.services import fund
    from tests.factories import make_good_neighbour_plan

    make_good_neighbour_plan(world)  # two unpaid months of 450 reserved
    board = _build(_district(world))
    position = fund.fund_position(world.manager, DASHBOARD_TODAY)
    assert board.reserved == position["reserved"] == Decimal("900.00")
    assert board.earmarked == position["earmarked"]
    assert board.balance == position["balance"]
    assert board.free == position["free"]


def test_pledges_per_sponsor(world, district):
    from app.extensions import db
    from app.models import Pledge
    from tests.factories import make_pledge

    project = district["in_progress"]
    org = world.sponsor.organisation
    other = world.other_sponsor.organisation
    with db.session.no_autoflush:  # make_pledge reads the project's sponsors as it goes
        for amount, status, received, pledged_at, by in (
            ("200", "approved", dt.date(2026, 11, 8), dt.datetime(2026, 11, 2, 1), org),
            ("50", "pending", None, dt.datetime(2026, 11, 3, 1), org),
            ("70", "rejected", None, dt.datetime(2026, 11, 3, 2), org),
            ("90", "pending", None, dt.datetime(2026, 10, 3, 1), other),  # before the period
        ):
            make_pledge(
                project,
                by,
                amount=amount,
                status=status,
                received_on=received,
                pledged_at=pledged_at,
            )
    db.session.commit()
    board = _build(_district(world))
    assert [(name, p, a, r) for _id, name, p, a, r in board.pledges] == [
        (org.name, Decimal("250.00"), Decimal("200.00"), Decimal("200.00"))
    ]
    assert db.session.query(Pledge).count() == 4


def test_activity_of_the_period(world, district):
    board = _build(_district(world))
    assert board.services == 1
    assert board.service_evidence == 0
    assert board.cases_closed == 1
    assert board.plan_months_paid == 0


def test_a_street_shows_its_communities(world, district):
    board = _build(_street(world, world.street))
    assert not board.by_street
    assert [r.id for r in board.areas] == sorted(
        [world.community.id, world.neighbour.id],
        key=lambda i: {
            world.community.id: world.community.name,
            world.neighbour.id: world.neighbour.name,
        }[i],
    )
    community, neighbour = _row(board, world.community), _row(board, world.neighbour)
    assert (community.households, community.new_cases) == (4, 3)
    assert (neighbour.households, neighbour.new_cases, neighbour.visits_due) == (1, 1, 1)
    assert board.new_cases == 4  # the far street's h6 is not in it
    assert board.money_out == Decimal("0")  # h6's project is in the far street
    assert [c[0] for c in board.coverage] == [r.id for r in board.areas]


def test_a_clerk_sees_their_street_only(world, district):
    clerk = access.Scope(role="street_clerk", street_id=world.far_street.id)
    board = _build(clerk)
    assert [r.id for r in board.areas] == [world.far_community.id]
    assert board.total.households == 1
    assert board.new_cases == 1
    # the district's donation (a district-level row) is the district's money, not the street's
    assert board.money == {"2026-11": (Decimal("0"), Decimal("300.00"))}


def test_a_sponsor_gets_no_figure(world, district):
    sponsor = access.Scope(role="sponsor", organisation_id=world.sponsor.organisation_id)
    board = _build(sponsor)
    assert board.total.households == 0
    assert board.new_cases == 0
    assert board.money == {}
    assert board.pledges == []


def test_the_statement_count_does_not_grow_with_the_data(world, district):
    from app.extensions import db

    scope = _district(world)
    with count_queries() as few:
        _build(scope)
    for i in range(15):
        household = make_household(world.neighbour, intake_date=dt.date(2026, 11, 1 + i))
        make_need(household, identified_on=household.intake_date, dimension="social")
    db.session.commit()
    with count_queries() as many:
        board = _build(scope)
    assert board.needs["social"]["open"] == 15
    # 18 figures' statements and the look-up of the summary's latest refresh
    assert len(many) == len(few) <= 19
