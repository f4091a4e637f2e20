"""The small version of the million-household benchmark (``bench/scale.py``): no page's
statement count grows with the rows or the page size, and the paths that broke at a
district's size (more than 65,535 matching rows: the driver's parameter limit) work on
PostgreSQL. The times themselves are measured in bench/, not here."""

import datetime as dt
import re

import pytest
from flask import current_app
from sqlalchemy import text

from app.extensions import db
from app.models import Household
from app.services import todo
from tests.factories import (
    count_queries,
    make_assessment,
    make_household,
    make_member,
    make_need,
)

#: what each role opens most, with the size parameters a person can change
PAGES = [
    "/admin/",
    "/admin/todo/",
    "/admin/household/",
    "/admin/household/?page_size=50",
    "/admin/household/?search=秀英",
    "/admin/need/",
    "/admin/need/?page_size=50",
    "/admin/member/",
    "/admin/assessment/",
]


def _households(world, n: int, start: int) -> None:
    communities = [world.community, world.neighbour, world.far_community]
    for i in range(start, start + n):
        household = make_household(
            communities[i % 3],
            head_name=f"王秀英{i}" if i % 2 else f"李{i}",
            intake_date=dt.date(2026, 9, 1) + dt.timedelta(days=i % 40),
        )
        make_member(household)
        make_need(household)
        if i % 3:
            make_assessment(household)


def _statements(client, path: str) -> int:
    with count_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(statements)


@pytest.mark.parametrize("who", ["admin", "clerk", "worker"])
def test_no_page_runs_more_statements_for_more_rows(world, login, who):
    # a full page already (below one, the eager loads of absent rows are skipped)
    _households(world, 45, 0)
    client = login(getattr(world, who))
    for path in PAGES:  # the process reads the area tree once (app/models/area_tree.py)
        _statements(client, path)
    few = {path: _statements(client, path) for path in PAGES}
    _households(world, 60, 45)
    db.session.commit()
    many = {path: _statements(client, path) for path in PAGES}
    assert many == few
    # a bigger page is the same statements, not more
    assert few["/admin/household/?page_size=50"] == few["/admin/household/"]
    assert few["/admin/need/?page_size=50"] == few["/admin/need/"]


def test_a_story_page_runs_as_many_statements_for_twenty_visits(world, login):
    household = make_household(world.community, intake_date=dt.date(2025, 1, 1))
    make_assessment(household, visit_date=dt.date(2025, 1, 3))
    make_need(household)
    client = login(world.clerk)
    path = f"/admin/household/story/?id={household.id}"
    client.get(path)  # the process reads the area tree once
    one = _statements(client, path)
    for day in range(19):
        make_assessment(household, visit_date=dt.date(2025, 2, 1) + dt.timedelta(days=day))
    for _ in range(49):
        make_need(household)
    db.session.commit()
    assert _statements(client, path) == one


def _many_registered(world, n: int) -> None:
    """``n`` registered households without a visit, by one INSERT … SELECT; totals above
    20,000 rows estimated, as in production."""
    current_app.config["COUNT_ESTIMATE_ABOVE"] = 20_000
    db.session.execute(
        text(
            "INSERT INTO households (head_name, head_id_number, address, intake_channel,"
            " intake_date, status, street_id, community_id, created_at, updated_at)"
            " SELECT '户' || g, lpad(g::text, 18, '0'), '地址', 'self_request',"
            " DATE '2026-09-01', 'registered', :street, :community, now(), now()"
            " FROM generate_series(1, :n) AS g"
        ),
        {"street": world.street.id, "community": world.community.id, "n": n},
    )
    db.session.execute(text("ANALYZE households"))


@pytest.mark.postgresql
def test_the_to_do_list_and_landing_hold_more_than_65535_cases(world, login, backend):
    if backend.name != "postgresql":
        pytest.skip("the driver's parameter limit is PostgreSQL's")
    _many_registered(world, 70_000)
    summary = todo.todo_summary(world.admin, today=dt.date(2026, 11, 1))
    assert str(summary["total"]) == "1,000+"
    client = login(world.admin)
    page = client.get("/admin/todo/").get_data(as_text=True)
    assert "1,000+" in page and page.count('class="yj-todo') == todo.PAGE_LIMIT
    landing = client.get("/admin/")
    assert landing.status_code == 200
    households = client.get("/admin/household/").get_data(as_text=True)
    assert re.search(r"约\s*7\d,\d{3}", households), "a total this size is estimated"
    exact = client.get("/admin/household/?exact_count=1").get_data(as_text=True)
    assert "共 70,000 条" in exact


@pytest.mark.postgresql
def test_a_full_id_number_in_the_search_box_finds_head_or_member(world, login, backend):
    if backend.name != "postgresql":
        pytest.skip("at this size, PostgreSQL")
    _many_registered(world, 70_000)
    household = make_household(world.community, head_name="张桂英")
    member = make_member(household, name="张小英")
    far = make_household(world.far_community)
    db.session.commit()
    client = login(world.clerk)
    for number in (household.head_id_number, member.id_number):
        page = client.get(f"/admin/household/?search={number}").get_data(as_text=True)
        assert "张桂英" in page and "共 1 条" in page
    # another street's household is not found by a clerk, even by its exact number
    page = client.get(f"/admin/household/?search={far.head_id_number}").get_data(as_text=True)
    assert far.head_name not in page
    # a piece of a name, through the gram index
    page = client.get("/admin/household/?search=桂英").get_data(as_text=True)
    assert "张桂英" in page
    assert Household.query.count() == 70_002
