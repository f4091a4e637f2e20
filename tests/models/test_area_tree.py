"""The kept area tree (``app/models/area_tree.py``): pages print and offer areas from it,
so it must change when the areas do, whichever way they change, and show each user
exactly the areas the SQL scope shows them."""

import html
import json
import re

import pytest
from sqlalchemy import select, text

from app import access
from app.extensions import db
from app.models import Area, area_tree
from tests.factories import count_queries, make_community, make_household

ROLES = ["district_admin", "district_manager", "street_clerk", "community_worker", "sponsor"]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_offered_the_areas_the_sql_scope_lets_it_read(app, world, role):
    user = world.user(role)
    with app.test_request_context():
        for level in ("street", "community"):
            by_sql = set(
                db.session.scalars(
                    access.visible(Area, user).where(Area.level == level).with_only_columns(Area.id)
                )
            )
            by_tree = {n.id for n in access.visible_areas(user, level)}
            assert by_tree == by_sql, (role, level)


def test_a_list_prints_street_and_community_from_the_tree_without_querying_areas(world, login):
    make_household(world.community, head_name="王秀英")
    client = login(world.clerk)
    client.get("/admin/household/")  # the process reads the tree once
    with count_queries() as statements:
        page = client.get("/admin/household/").get_data(as_text=True)
    assert f"{world.street.name} · {world.community.name}" in page
    assert not [s for s in statements if "FROM areas" in s]
    assert len([s for s in statements if "area_tree_version" in s]) == 1


def _community_filter_options(client) -> set[str]:
    page = client.get("/admin/household/").get_data(as_text=True)
    found = re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>', page)
    groups = json.loads(html.unescape(found.group(1)))
    return {label for _value, label in groups["社区"][0]["options"]}


def test_a_community_added_by_plain_sql_shows_on_the_next_request(app, world, login):
    """Another app server (or a script) adds a community: the trigger moves the
    version, and this process reads the tree again."""
    client = login(world.admin)
    assert f"{world.street.name} · {world.community.name}" in _community_filter_options(client)
    assert f"{world.street.name} · 新建的社区" not in _community_filter_options(client)
    db.session.execute(
        text(
            "INSERT INTO areas (name, level, parent_id, created_at, updated_at)"
            " VALUES ('新建的社区', 'community', :p, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"p": world.street.id},
    )
    db.session.commit()
    assert f"{world.street.name} · 新建的社区" in _community_filter_options(client)


def test_a_renamed_street_is_printed_by_its_new_name(world, login):
    make_household(world.community)
    client = login(world.clerk)
    assert world.street.name in client.get("/admin/household/").get_data(as_text=True)
    world.street.name = "改名后街道"
    db.session.commit()
    page = client.get("/admin/household/").get_data(as_text=True)
    assert f"改名后街道 · {world.community.name}" in page


# outside a request, as a process's next request does: tree() keeps its answer on
# ``g`` for the rest of a request, and these read it again within one test


def test_a_change_rolled_back_leaves_no_stale_tree(world):
    before = area_tree.tree()
    make_community(world.street, name="回滚的社区")
    inside = area_tree.tree()  # read inside the transaction that adds it
    assert "回滚的社区" in {n.name for n in inside.nodes.values()}
    db.session.rollback()
    after = area_tree.tree()
    assert after.version == before.version
    assert "回滚的社区" not in {n.name for n in after.nodes.values()}


def test_without_its_version_row_the_tree_is_read_each_time_not_kept(world):
    db.session.execute(text("DELETE FROM area_tree_version"))
    assert area_tree.tree().label(world.community.id).endswith(world.community.name)
    make_community(world.street, name="无版本社区")
    assert "无版本社区" in {n.name for n in area_tree.tree().nodes.values()}
    db.session.rollback()


def test_a_household_prints_its_community_name_from_the_tree(app, world):
    household = make_household(world.community, head_name="李桂兰")
    community = world.community.name
    db.session.commit()
    db.session.expunge_all()
    loaded = db.session.scalars(select(type(household))).one()
    with app.test_request_context():
        area_tree.tree()  # read once, as the first page of a process does
        with count_queries() as statements:
            label = str(loaded)
    assert label == f"李桂兰（{community}）"
    assert statements == []  # neither the Area nor the version again in one request
