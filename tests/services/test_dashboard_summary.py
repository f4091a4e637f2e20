"""The dashboard read from its summary table (``app/services/dashboard/summary.py``)
shows the figures the live computation gives, on the hand-worked factory district:
for the district and a street, for periods inside, across and after the summary's
days; a refresh is idempotent, a partial one (``--since``) keeps the rest, and what
happens after it is counted live for the days it does not cover."""

import dataclasses
import datetime as dt

import pytest

from app import access
from app.extensions import db
from app.models import DashboardDaily, DashboardRefresh, Household
from app.services import dashboard
from app.services.dashboard import summary
from tests.factories import (
    DASHBOARD_MONTH,
    DASHBOARD_TODAY,
    count_queries,
    make_dashboard_district,
    make_household,
    make_need,
)

TODAY = DASHBOARD_TODAY


def _district(world):
    return access.Scope(role="district_manager", user_id=world.manager.id)


def _street(world):
    return access.Scope(role="district_manager", street_id=world.street.id)


def _clerk(world):
    return access.scope_of(world.clerk)


def _figures(board) -> dict:
    """Everything the board shows (not when it was made or where it was read from)."""
    skip = {"generated_at", "refresh", "scope"}
    return {
        f.name: (
            [dataclasses.asdict(r) for r in board.areas]
            if f.name == "areas"
            else dataclasses.asdict(board.total)
            if f.name == "total"
            else getattr(board, f.name)
        )
        for f in dataclasses.fields(board)
        if f.name not in skip
    }


PERIODS = [
    dashboard.month_period(DASHBOARD_MONTH),  # covered up to yesterday, today live
    dashboard.period_for("last_month", TODAY),  # wholly in the summary
    dashboard.period_for("this_year", TODAY),
    dashboard.Period("custom", dt.date(2026, 10, 15), dt.date(2026, 11, 8)),
    dashboard.Period("custom", TODAY, TODAY),  # wholly live
    dashboard.Period("custom", dt.date(2020, 1, 1), TODAY),  # before the first record
]


def _assert_same(scope, period):
    stored = dashboard.build(scope, period, today=TODAY)
    live = dashboard.build(scope, period, today=TODAY, use_summary=False)
    assert stored.refresh is not None and live.refresh is None
    assert _figures(stored) == _figures(live)
    return stored


@pytest.fixture
def district(world):
    return make_dashboard_district(world)


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: f"{p.start}..{p.end}")
def test_summary_figures_equal_the_live_ones(world, district, period):
    done = summary.refresh(today=TODAY)
    assert done.covered_to == TODAY - dt.timedelta(days=1)
    assert done.rows > 0
    for scope in (_district(world), _street(world), _clerk(world)):
        _assert_same(scope, period)


def test_the_summary_is_really_read(world, district):
    """Not a test that cannot fail: with the stored counts doubled, so are the figures."""
    summary.refresh(today=TODAY)
    period = dashboard.month_period(DASHBOARD_MONTH)
    before = dashboard.build(_district(world), period, today=TODAY)
    db.session.query(DashboardDaily).update({DashboardDaily.n: DashboardDaily.n * 2})
    db.session.commit()
    after = dashboard.build(_district(world), period, today=TODAY)
    assert before.new_cases and after.new_cases == 2 * before.new_cases
    assert sum(after.household_status.values()) == 2 * sum(before.household_status.values())


def test_refresh_is_idempotent_and_partial_refresh_keeps_the_rest(world, district):
    first = summary.refresh(today=TODAY)
    rows = db.session.query(DashboardDaily).count()
    again = summary.refresh(today=TODAY)
    assert db.session.query(DashboardDaily).count() == rows == first.rows == again.rows > 0
    partial = summary.refresh(dt.date(2026, 11, 10), today=TODAY)
    assert (partial.covered_from, partial.covered_to) == (first.covered_from, first.covered_to)
    assert db.session.query(DashboardDaily).count() == rows
    for period in PERIODS:
        _assert_same(_district(world), period)


def test_a_gap_starts_the_summary_again(world, district):
    summary.refresh(None, dt.date(2026, 10, 31), today=TODAY)
    later = summary.refresh(dt.date(2026, 11, 15), today=TODAY)
    assert (later.covered_from, later.covered_to) == (
        dt.date(2026, 11, 15),
        TODAY - dt.timedelta(1),
    )
    for period in PERIODS:
        _assert_same(_district(world), period)


def test_after_the_refresh(world, district):
    """Days after the summary are counted live; what is true now holds at the refresh
    until the next one, and the page can say when that was."""
    done = summary.refresh(today=TODAY)
    period = dashboard.month_period(DASHBOARD_MONTH)
    before = dashboard.build(_district(world), period, today=TODAY)
    assert before.as_of == done.finished_at
    assert before.live_from == TODAY
    household = make_household(world.community, intake_date=TODAY)
    make_need(household, identified_on=TODAY, dimension="social")
    db.session.commit()
    after = dashboard.build(_district(world), period, today=TODAY)
    assert after.new_cases == before.new_cases + 1  # today: live
    assert after.needs["social"] == before.needs["social"]  # now: as at the refresh
    assert sum(after.household_status.values()) == sum(before.household_status.values())
    summary.refresh(today=TODAY)
    _assert_same(_district(world), period)
    assert db.session.get(Household, household.id) is not None


def test_no_refresh_means_live(world, district):
    board = dashboard.build(_district(world), dashboard.month_period(DASHBOARD_MONTH), today=TODAY)
    assert board.refresh is None and board.live_from is None
    assert board.as_of == board.generated_at


def test_statements_stay_few_with_the_summary(world, district):
    summary.refresh(today=TODAY)
    period = dashboard.period_for("this_year", TODAY)
    scope = _district(world)
    with count_queries() as few:
        dashboard.build(scope, period, today=TODAY)
    assert len(few) <= 19


def test_cli_and_job(app, world, district):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["dashboard-refresh", "--until", "2026-11-19"])
    assert result.exit_code == 0, result.output
    assert "summary covers" in result.output and "to 2026-11-19" in result.output
    result = runner.invoke(args=["dashboard-refresh", "--since", "2026-11-01", "--queue"])
    assert result.exit_code == 0, result.output
    assert "queued job inline" in result.output  # no Redis in the tests: ran here
    newest = summary.latest()
    assert newest.source == "job" and newest.day_from == dt.date(2026, 11, 1)
    assert db.session.query(DashboardRefresh).count() == 2
    result = runner.invoke(args=["dashboard-refresh", "--since", "1.11.2026"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output
