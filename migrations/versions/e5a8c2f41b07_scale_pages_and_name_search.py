"""a million households: street and community pages from the index, and name/address
search by one- and two-character pieces (PostgreSQL)

Revision ID: e5a8c2f41b07
Revises: d9e4a7b3c215
Create Date: 2026-12-02 03:00:00

- ``(street_id, id)`` and ``(community_id, id)`` of households not archived: a list of
  one street, page 500, pages the ids from the index alone;
- ``(status, intake_date, id)`` and ``(street_id, status, intake_date)``: the to-do
  list's visits due, longest waiting first, in the district and in a street;
- on PostgreSQL, ``yj_grams(text)`` (every one- and two-character piece of a text) and
  GIN indexes over it for the head's name and the address: "秀英" is found from the
  index (pg_trgm would not: a two-character term has no trigram). The statements are
  written out here, as in app/models/household.py, so this revision does not change
  when the model does.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5a8c2f41b07"
down_revision = "d9e4a7b3c215"
branch_labels = None
depends_on = None

GRAMS_FUNCTION = (
    "CREATE OR REPLACE FUNCTION yj_grams(value text) RETURNS text[] "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_remove("
    "string_to_array(lower(value), NULL) "
    "|| string_to_array(regexp_replace(lower(value), '(..)', '\\1,', 'g'), ',') "
    "|| string_to_array(regexp_replace(substr(lower(value), 2), '(..)', '\\1,', 'g'), ','), "
    "'') $$"
)
GRAMS_INDEXES = {
    "ix_households_head_name_grams": "head_name",
    "ix_households_address_grams": "address",
}


def upgrade():
    for name, column in (("street_page", "street_id"), ("community_page", "community_id")):
        op.create_index(
            f"ix_households_{name}",
            "households",
            [column, "id"],
            postgresql_where=sa.text("archived_at IS NULL"),
            sqlite_where=sa.text("archived_at IS NULL"),
        )
    op.create_index(
        "ix_households_status_intake",
        "households",
        ["status", "intake_date", "id"],
        postgresql_where=sa.text("archived_at IS NULL"),
        sqlite_where=sa.text("archived_at IS NULL"),
    )
    op.create_index(
        "ix_households_street_status_intake",
        "households",
        ["street_id", "status", "intake_date"],
        postgresql_where=sa.text("archived_at IS NULL"),
        sqlite_where=sa.text("archived_at IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GRAMS_FUNCTION)
        for name, column in GRAMS_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON households USING gin (yj_grams({column}))")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in GRAMS_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute("DROP FUNCTION IF EXISTS yj_grams(text)")
    op.drop_index("ix_households_street_status_intake", table_name="households")
    op.drop_index("ix_households_status_intake", table_name="households")
    op.drop_index("ix_households_community_page", table_name="households")
    op.drop_index("ix_households_street_page", table_name="households")
