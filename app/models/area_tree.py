"""The area tree (district → streets → communities) as every page prints it, read once
per process and again only when it changes.

Every list prints each row's street and community, offers them as filters, and the
district's users pick a street in the top bar: five queries a page over ``areas``, with
their Area objects, for a tree that changes a few times a year. Here the tree is kept
per process, stamped with ``area_tree_version.value``, which database triggers on
``areas`` set to a new random number with every insert, update or delete, whichever way
it came (the panel, the CLI, a script, another app server). A request reads that one number (once,
however often it asks) and rebuilds the tree only when it moved, so every app server
sees a new community on its next request.

For showing and offering areas only: rules (may this user write here? is this
community in that street?) still read the rows themselves, inside their transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import g, has_request_context
from sqlalchemy import BigInteger, Column, Integer, Table, event, select, text
from sqlalchemy.schema import DDL

from app.extensions import db
from app.models.area import Area

#: one row, ``value`` raised by the triggers below; a table of its own (not a column of
#: some settings row) so that nothing but an area's change ever writes it
area_tree_version = Table(
    "area_tree_version",
    db.metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

#: a new random number, not the old one plus one: a change rolled back leaves no number
#: behind that a later change could take again (a process that read the tree inside
#: that transaction keeps it under a number the database never commits)
BUMP_POSTGRESQL = "UPDATE area_tree_version SET value = floor(random() * 9e18)::bigint WHERE id = 1"
BUMP_SQLITE = "UPDATE area_tree_version SET value = random() WHERE id = 1"

#: the triggers, for PostgreSQL and SQLite; the same statements are in the migration
#: (a migration must not change when this module does)
POSTGRESQL_DDL = (
    "INSERT INTO area_tree_version (id, value) VALUES (1, 1)",
    f"""CREATE FUNCTION yj_bump_area_tree() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {BUMP_POSTGRESQL};
    RETURN NULL;
END $$""",
    """CREATE TRIGGER areas_bump_tree AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON areas
FOR EACH STATEMENT EXECUTE FUNCTION yj_bump_area_tree()""",
)
SQLITE_DDL = (
    "INSERT INTO area_tree_version (id, value) VALUES (1, 1)",
    *(
        f"CREATE TRIGGER areas_bump_tree_{op.lower()} AFTER {op} ON areas BEGIN {BUMP_SQLITE}; END"
        for op in ("INSERT", "UPDATE", "DELETE")
    ),
)

for _statement in POSTGRESQL_DDL:
    event.listen(
        area_tree_version, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )
for _statement in SQLITE_DDL:
    event.listen(area_tree_version, "after_create", DDL(_statement).execute_if(dialect="sqlite"))


@dataclass(frozen=True)
class Node:
    id: int
    name: str
    level: str
    parent_id: int | None
    #: "street · community" for a community, the name otherwise (``Area.full_name``)
    full_name: str


@dataclass
class Tree:
    version: int
    nodes: dict[int, Node] = field(default_factory=dict)
    _levels: dict[str, list[Node]] = field(default_factory=dict, repr=False)

    def label(self, area_id: int | None) -> str:
        """How a list prints the area: ``Area.full_name``; "" for none."""
        node = self.nodes.get(area_id) if area_id is not None else None
        return node.full_name if node is not None else ""

    def name(self, area_id: int | None) -> str:
        node = self.nodes.get(area_id) if area_id is not None else None
        return node.name if node is not None else ""

    def of_level(self, level: str) -> list[Node]:
        """The streets or communities, ordered as the filters list them (by street,
        then name)."""
        found = self._levels.get(level)
        if found is None:
            found = [n for n in self.nodes.values() if n.level == level]
            found.sort(key=lambda n: (n.parent_id or 0, n.name))
            self._levels[level] = found
        return list(found)


_lock = threading.Lock()
_trees: dict[str, Tree] = {}  # database URL → tree (tests run several databases)


def current_version() -> int | None:
    """The tree's version in the database (one statement); None without its row."""
    return db.session.execute(text("SELECT value FROM area_tree_version WHERE id = 1")).scalar()


def _load(version: int) -> Tree:
    rows = db.session.execute(select(Area.id, Area.name, Area.level, Area.parent_id)).all()
    names = {row.id: row.name for row in rows}
    tree = Tree(version)
    for row in rows:
        full = row.name
        if row.level == "community" and row.parent_id in names:
            full = f"{names[row.parent_id]} · {row.name}"
        tree.nodes[row.id] = Node(row.id, row.name, row.level, row.parent_id, full)
    return tree


def tree() -> Tree:
    """The area tree as the database holds it now: checked once per request, rebuilt
    when its version moved."""
    if has_request_context() and "_yj_area_tree" in g:
        return g._yj_area_tree
    key = str(db.engine.url)
    version = current_version()
    found = _trees.get(key)
    if version is None:  # no version row (a damaged database): never kept
        found = _load(-1)
    elif found is None or found.version != version:
        found = _load(version)
        with _lock:
            _trees[key] = found
    if has_request_context():
        g._yj_area_tree = found
    return found


def forget() -> None:
    """Drop every kept tree (tests that rebuild a database under the same URL)."""
    with _lock:
        _trees.clear()
