"""Personal data, asserted on the cell itself: the details page's cell for each personal
column holds the full value for those who may see it and exactly the mask for everyone
else, and the full value appears nowhere else on the page. (A check such as "*** is on
the page" cannot fail: a masked ID number elsewhere on the page satisfies it.)"""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest

from app.extensions import db
from app.validation import HIDDEN, mask_id_number, mask_phone
from tests.factories import make_household, make_member

ROLES = ["district_admin", "district_manager", "street_clerk", "community_worker"]
#: who sees full personal data of a household in the worker's community
REVEALS = {
    "district_admin": True,
    "district_manager": False,
    "street_clerk": True,
    "community_worker": True,
}
MASKS = {"id": mask_id_number, "phone": mask_phone, "hidden": lambda v: HIDDEN}
#: the personal data of each view, written down here and not read from the view, so
#: that a column dropped from a view's masking fails this test
PERSONAL = {
    "household": {
        "head_id_number": "id",
        "head_phone": "phone",
        "monthly_income": "hidden",
        "existing_support": "hidden",
    },
    "member": {"id_number": "id", "health": "hidden"},
}


def detail_cells(html: str) -> list[str]:
    """The value cells of the details table, in order, as text."""
    table = html.split('class="table table-hover table-bordered searchable"')[1].split("</table>")[
        0
    ]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    cells = []
    for row in rows:
        tds = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        cells.append(unescape(re.sub(r"<[^>]+>|\s+", " ", tds[-1]).strip()) if tds else "")
    return cells


def view(app, endpoint):
    return next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)


@pytest.fixture
def people(world):
    household = make_household(
        world.community,
        head_phone="13912345678",
        monthly_income=Decimal("1876.50"),
        existing_support="重度残疾人护理补贴",
    )
    member = make_member(household, health="二级肢残，长期卧床")
    db.session.commit()
    return {"household": household, "member": member}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint,key", [("household", "household"), ("member", "member")])
def test_each_personal_cell_is_full_or_exactly_masked(
    app, world, login, people, role, endpoint, key
):
    record = people[key]
    admin_view = view(app, endpoint)
    client = login(world.user(role))
    html = client.get(f"/admin/{endpoint}/details/?id={record.id}").get_data(as_text=True)
    cells = detail_cells(html)
    names = [name for name, _label in admin_view._details_columns]
    assert len(cells) == len(names)
    checked = 0
    for column, kind in PERSONAL[endpoint].items():
        assert column in names, f"{column} is not on the details page"
        value = getattr(record, column)
        assert value not in (None, ""), "the fixture fills every personal column"
        cell = cells[names.index(column)]
        if REVEALS[role] and kind in ("id", "phone"):
            # masked until the person presses 显示, which answers the full value
            assert cell.startswith(MASKS[kind](value)) and str(value) not in html, column
            revealed = client.post(
                f"/admin/{endpoint}/reveal/?id={record.id}",
                data={"field": column},
                headers={"Accept": "application/json"},
            )
            assert revealed.get_json() == {"value": value}, column
        elif REVEALS[role]:
            assert cell != MASKS[kind](value), f"{column} masked for {role}"
        else:
            assert cell == MASKS[kind](value), f"{column} shown as {cell!r} to {role}"
            # and nowhere else on the page, in any form the page could print it; 显示
            # refuses them
            refused = client.post(
                f"/admin/{endpoint}/reveal/?id={record.id}",
                data={"field": column},
                headers={"Accept": "application/json"},
            )
            assert refused.status_code in (403, 404), column
            for form in {str(value), f"{value:,}" if isinstance(value, Decimal) else str(value)}:
                assert form not in html, f"{column} leaks to {role}"
        checked += 1
    assert checked == len(PERSONAL[endpoint])


def test_list_cells_are_masked_for_everyone(app, world, login, people):
    household = people["household"]
    for role in ROLES:
        html = login(world.user(role)).get("/admin/household/").get_data(as_text=True)
        assert household.head_id_number not in html and household.head_phone not in html
        assert mask_id_number(household.head_id_number) in html
        assert "1876" not in html
