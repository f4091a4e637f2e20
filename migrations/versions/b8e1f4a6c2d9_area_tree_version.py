"""the area tree's version: one number that triggers on ``areas`` raise with every
change, so each app server keeps the tree (labels, filter options, the street
switcher) and reads it again only when it moved (``app/models/area_tree.py``)

Revision ID: b8e1f4a6c2d9
Revises: a7d3f9c2e184
Create Date: 2026-12-08 00:10:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b8e1f4a6c2d9"
down_revision = "a7d3f9c2e184"
branch_labels = None
depends_on = None

#: a new random number, not the old one plus one: a change rolled back leaves no number
#: behind that a later change could take again (a process that read the tree inside
#: that transaction keeps it under a number the database never commits)
BUMP_POSTGRESQL = (
    "UPDATE area_tree_version SET value = floor(random() * 9e18)::bigint WHERE id = 1"
)
BUMP_SQLITE = "UPDATE area_tree_version SET value = random() WHERE id = 1"

POSTGRESQL = (
    "INSERT INTO area_tree_version (id, value) VALUES (1, 1)",
    f"""CREATE FUNCTION yj_bump_area_tree() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {BUMP_POSTGRESQL};
    RETURN NULL;
END $$""",
    """CREATE TRIGGER areas_bump_tree AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON areas
FOR EACH STATEMENT EXECUTE FUNCTION yj_bump_area_tree()""",
)
SQLITE = (
    "INSERT INTO area_tree_version (id, value) VALUES (1, 1)",
    *(
        f"CREATE TRIGGER areas_bump_tree_{op_.lower()} AFTER {op_} ON areas BEGIN {BUMP_SQLITE}; END"
        for op_ in ("INSERT", "UPDATE", "DELETE")
    ),
)


def upgrade():
    op.create_table(
        "area_tree_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_tree_version")),
    )
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS areas_bump_tree ON areas")
        op.execute("DROP FUNCTION IF EXISTS yj_bump_area_tree()")
    else:
        for op_ in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS areas_bump_tree_{op_}")
    op.drop_table("area_tree_version")
