"""The dashboard page: who may open it, the period picker and the street switcher, the
sortable comparison table, and every count a link to its list showing that count."""

import re

import pytest

from app.extensions import db
from tests.factories import make_dashboard_district

URL = "/admin/dashboard/"
NOVEMBER = "?period=custom&start=2026-11-01&end=2026-11-30"


@pytest.fixture
def district(world):
    return make_dashboard_district(world)


@pytest.mark.parametrize("role", ["district_admin", "district_manager", "street_clerk"])
def test_staff_who_compare_streets_open_it(world, login, role):
    page = login(world.user(role)).get(URL)
    assert page.status_code == 200
    assert 'id="comparison"' in page.text


@pytest.mark.parametrize("role", ["community_worker", "sponsor"])
def test_others_are_refused(world, login, role):
    assert login(world.user(role)).get(URL).status_code == 403


def test_the_menu_offers_it_to_a_manager_not_to_a_sponsor(world, login):
    assert 'href="/admin/dashboard/"' in login(world.manager).get("/admin/").text
    assert 'href="/admin/dashboard/"' not in login(world.sponsor).get("/admin/").text


def _cell(page, area_id, figure):
    row = re.search(rf'<tr data-area-id="{area_id}">(.*?)</tr>', page, re.S).group(1)
    return re.search(rf'data-figure="{figure}">(.*?)</td>', row, re.S).group(1)


def _link(cell):
    href = re.search(r'href="([^"]+)"', cell).group(1).replace("&amp;", "&")
    return href, int(re.search(r">(\d+)</a>", cell).group(1))


def _list_count(client, href) -> int:
    """How many records the list page at ``href`` shows: the distinct records its rows
    open (``<list>/details/?id=N``); a page size of 100 is plenty here."""
    page = client.get(href + ("&" if "?" in href else "?") + "page_size=100")
    assert page.status_code == 200, href
    base = href.split("?")[0]
    return len(set(re.findall(rf'href="{re.escape(base)}details/\?id=(\d+)', page.text)))


def test_each_count_links_to_the_list_that_shows_it(world, login, district):
    client = login(world.manager)
    page = client.get(URL + NOVEMBER).text
    checked = 0
    for area in (world.street, world.far_street):
        for figure in ("households", "new_cases", "open_needs"):
            href, n = _link(_cell(page, area.id, figure))
            assert _list_count(client, href) == n, (area.name, figure, href)
            checked += 1
    # the needs table and the projects table: every non-zero cell
    for match in re.finditer(
        r'<td class="yj-num text-right" data-(?:dimension|status)="[^"]+"[^>]*>'
        r'<a href="([^"]+)">(\d+)</a></td>',
        page,
    ):
        href, n = match.group(1).replace("&amp;", "&"), int(match.group(2))
        assert _list_count(client, href) == n, href
        checked += 1
    assert checked >= 12


def test_the_street_switcher_narrows_it_to_communities(world, login, district):
    client = login(world.manager)
    client.post("/admin/street/", data={"street_id": world.street.id, "next": URL})
    page = client.get(URL + NOVEMBER).text
    assert f'data-area-id="{world.community.id}"' in page
    assert f'data-area-id="{world.far_street.id}"' not in page
    href, n = _link(_cell(page, world.community.id, "new_cases"))
    assert n == 3 and _list_count(client, href) == 3


def test_a_clerk_sees_only_their_street(world, login, district):
    page = login(world.far_clerk).get(URL + NOVEMBER).text
    assert f'data-area-id="{world.far_community.id}"' in page
    assert f'data-area-id="{world.community.id}"' not in page
    assert world.street.name not in page


def test_the_comparison_table_sorts(world, login, district):
    client = login(world.manager)
    ids = [world.street.id, world.far_street.id]
    by = client.get(URL + NOVEMBER + "&sort=households&order=desc").text
    order = [int(i) for i in re.findall(r'<tr data-area-id="(\d+)">', by) if int(i) in ids]
    assert order == [world.street.id, world.far_street.id]
    by = client.get(URL + NOVEMBER + "&sort=households&order=asc").text
    order = [int(i) for i in re.findall(r'<tr data-area-id="(\d+)">', by) if int(i) in ids]
    assert order == [world.far_street.id, world.street.id]
    assert client.get(URL + "?sort=nonsense").status_code == 200


def test_no_household_is_named(world, login, district):
    page = login(world.admin).get(URL + NOVEMBER).text
    for household in (district["h1"], district["h2"], district["h6"]):
        db.session.refresh(household)
        assert household.head_name not in page
        assert household.head_id_number not in page
        assert household.head_phone not in page


def test_the_charts_come_from_our_own_static_folder(world, login, district):
    page = login(world.manager).get(URL).text
    assert "/static/vendor/echarts/echarts.min.js" in page
    assert 'id="dashboard-data"' in page
    assert "cdn" not in page.lower()


def test_a_sponsor_sees_its_support_month_by_month(world, login):
    import datetime as dt

    from app.services import fund
    from tests.factories import make_fund, make_pledge, make_project

    org = world.sponsor.organisation
    project = make_project(world.community)
    db.session.commit()
    make_fund(world)
    with db.session.no_autoflush:
        make_pledge(
            project,
            org,
            amount="400",
            status="approved",
            pledged_at=dt.datetime(2026, 9, 2, 1),
            received_on=dt.date(2026, 10, 8),
        )
        make_pledge(project, org, amount="100", pledged_at=dt.datetime(2026, 10, 3, 1))
    db.session.commit()
    fund.post_disbursement(
        user=world.admin,
        amount="120",
        posted_on=dt.date(2026, 11, 12),
        purpose="上门服务",
        payee_person="测试收款人",
        project=project,
    )
    page = login(world.sponsor).get("/admin/sponsor/impact/").text
    rows = dict(re.findall(r'<tr data-month="(\d{4}-\d{2})">(.*?)</tr>', page, re.S))
    amounts = {m: re.findall(r"¥[\d,.]+", cells) for m, cells in rows.items()}
    assert amounts["2026-09"] == ["¥400.00", "¥0.00", "¥0.00"]
    assert amounts["2026-10"] == ["¥100.00", "¥400.00", "¥0.00"]
    assert amounts["2026-11"] == ["¥0.00", "¥0.00", "¥120.00"]  # the only approved sponsor
    assert "/static/vendor/echarts/echarts.min.js" in page
