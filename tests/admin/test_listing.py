"""What a list draws once a page (``app/admin/listing.py``) reads, row by row, as if
each row had been drawn on its own: its own id in every icon, its own value in its
editable cell, escaped; nothing left of the markers; the choices once."""

import html
import re
from urllib.parse import parse_qs, urlsplit

from markupsafe import escape

from app.admin.listing import ROW_ID_MARKER, VALUE_MARKER, EditableCells
from tests.factories import make_household, make_need

CHECKBOX = re.compile(r'class="action-checkbox" value="(\d+)"')


def _rows(page: str) -> list[str]:
    """Each data row's markup (from one checkbox to the next)."""
    starts = [m.start() for m in CHECKBOX.finditer(page)]
    if not starts:
        return []
    end = page.index("</table>", starts[-1])
    return [page[a:b] for a, b in zip(starts, starts[1:] + [end], strict=True)]


def test_each_rows_icons_name_that_row(world, login):
    for i in range(5):
        make_household(world.community, head_name=f"王{i}")
    for who in (world.admin, world.clerk):
        page = login(who).get("/admin/household/").get_data(as_text=True)
        rows = _rows(page)
        assert len(rows) == 5
        for row in rows:
            pk = CHECKBOX.search(row).group(1)
            links = re.findall(r'href="/admin/household/(details|edit|story)/\?id=(\d+)', row)
            assert {kind for kind, _ in links} == {"details", "edit", "story"}
            assert {found for _, found in links} == {pk}
            if who is world.admin:  # the only one offered deletion here
                assert f'name="id" type="hidden" value="{pk}"' in row
        assert ROW_ID_MARKER not in page


def test_a_rows_links_return_to_the_list_as_it_was_searched(world, login):
    """The return URL in each icon is the page's own, searched term and all, whatever
    digits the term and the row's id share."""
    household = make_household(world.community, head_name="王秀英")
    term = f"秀英{household.id}"
    make_household(world.community, head_name=f"王{term}")
    page = login(world.clerk).get("/admin/household/?search=" + term).get_data(as_text=True)
    rows = _rows(page)
    assert len(rows) == 1
    pk = CHECKBOX.search(rows[0]).group(1)
    href = html.unescape(re.search(r'href="(/admin/household/details/[^"]+)"', rows[0]).group(1))
    query = parse_qs(urlsplit(href).query)
    assert query["id"] == [pk]
    assert parse_qs(urlsplit(query["url"][0]).query)["search"] == [term]


def test_each_editable_cell_carries_its_rows_id_and_value_and_the_choices_once(world, login):
    statuses = ["open", "matched", "met"]
    household = make_household(world.community)
    needs = {make_need(household, status=s).id: s for s in statuses}
    page = login(world.clerk).get("/admin/need/").get_data(as_text=True)
    labels = {"open": "待处理", "matched": "已对接", "met": "已满足"}
    cells = re.findall(r'<a data-pk="(\d+)" data-role="x-editable"[^>]*data-value="([^"]*)"', page)
    assert {int(pk): value for pk, value in cells} == {
        pk: labels[status] for pk, status in needs.items()
    }
    assert page.count("data-source=") == 1  # beside the table, not on each row
    shared = re.search(r'<span hidden data-yj-editable="status"([^>]*)>', page).group(1)
    source = html.unescape(re.search(r'data-source="([^"]*)"', shared).group(1))
    for value in ("open", "matched", "in_progress", "met", "withdrawn"):
        assert f'"value": "{value}"' in source
    assert 'data-csrf="' in shared
    assert VALUE_MARKER not in page and ROW_ID_MARKER not in page


def test_an_editable_cells_value_is_escaped_as_flask_admin_escapes_it():
    hostile = "<script>alert('x')</script> & \"引号\""
    cells = EditableCells(
        {"status": f'<a data-pk="{ROW_ID_MARKER}" data-value="{VALUE_MARKER}">{VALUE_MARKER}</a>'},
        {"status": []},
    )
    drawn = str(cells.cell("status", "42", hostile))
    assert drawn == f'<a data-pk="42" data-value="{escape(hostile)}">{escape(hostile)}</a>'
    assert "<script>" not in drawn


def test_the_need_list_draws_its_editable_cells_once(app):
    admin = app.extensions["admin"][0]
    need_view = next(v for v in admin._views if getattr(v, "endpoint", None) == "need")
    assert need_view.lean_editable_cells()


def test_a_searchs_total_stops_at_the_cap_and_counts_exactly_on_request(world, login, monkeypatch):
    from app.services import counting

    monkeypatch.setattr(counting, "SEARCH_COUNT_CAP", 3)
    for i in range(5):
        make_household(world.community, head_name=f"张桂兰{i}")
    make_household(world.community, head_name="李四")
    client = login(world.clerk)
    page = client.get("/admin/household/?search=桂兰").get_data(as_text=True)
    total = re.search(r'<p class="small text-muted" id="list-total">(.*?)</p>', page, re.S)
    assert "3+" in total.group(1) and 'id="exact-count"' in total.group(1)
    assert len(_rows(page)) == 5  # the rows are all there; only the total stops
    exact = client.get("/admin/household/?search=桂兰&exact_count=1").get_data(as_text=True)
    total = re.search(r'<p class="small text-muted" id="list-total">(.*?)</p>', exact, re.S)
    assert "5" in total.group(1) and "+" not in total.group(1)
    few = client.get("/admin/household/?search=李四").get_data(as_text=True)
    total = re.search(r'<p class="small text-muted" id="list-total">(.*?)</p>', few, re.S)
    assert "1" in total.group(1) and 'id="exact-count"' not in total.group(1)
