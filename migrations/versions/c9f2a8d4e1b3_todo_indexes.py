"""the to-do list's items from an index's head, in order: open needs longest-waiting
first ((status, identified_on, id) for the district, (street_id, status, identified_on,
id) for a street, on needs not archived; at a million households a street's 50 oldest
open needs read 21,000 index entries and threw 20,000 away, 17 ms; now they read 50),
and a street's registered cases by intake date *and id* (ix_households_street_status_
intake_id replaces the index without id: 1,430 cases registered on one day were all
read and sorted to list 50, 11 ms).

Revision ID: c9f2a8d4e1b3
Revises: b8e1f4a6c2d9
Create Date: 2026-12-08 01:05:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c9f2a8d4e1b3"
down_revision = "b8e1f4a6c2d9"
branch_labels = None
depends_on = None

NOT_ARCHIVED = sa.text("archived_at IS NULL")


def upgrade():
    op.drop_index("ix_households_street_status_intake", table_name="households")
    op.create_index(
        "ix_households_street_status_intake_id",
        "households",
        ["street_id", "status", "intake_date", "id"],
        postgresql_where=NOT_ARCHIVED,
        sqlite_where=NOT_ARCHIVED,
    )
    op.create_index(
        "ix_needs_status_identified",
        "needs",
        ["status", "identified_on", "id"],
        postgresql_where=NOT_ARCHIVED,
        sqlite_where=NOT_ARCHIVED,
    )
    op.create_index(
        "ix_needs_street_status_identified",
        "needs",
        ["street_id", "status", "identified_on", "id"],
        postgresql_where=NOT_ARCHIVED,
        sqlite_where=NOT_ARCHIVED,
    )


def downgrade():
    op.drop_index("ix_households_street_status_intake_id", table_name="households")
    op.create_index(
        "ix_households_street_status_intake",
        "households",
        ["street_id", "status", "intake_date"],
        postgresql_where=NOT_ARCHIVED,
        sqlite_where=NOT_ARCHIVED,
    )
    op.drop_index("ix_needs_street_status_identified", table_name="needs")
    op.drop_index("ix_needs_status_identified", table_name="needs")
