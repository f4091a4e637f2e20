"""archive instead of delete: archived_at, archived_by_id, archive_reason on households,
household members, needs, resources, projects and organisations

Revision ID: e7a1c3d9b240
Revises: 6aa6e18323a3
Create Date: 2026-11-30 10:00:00

Existing rows start unarchived (NULL). The rules are in app/services/archive.py.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e7a1c3d9b240"
down_revision = "6aa6e18323a3"
branch_labels = None
depends_on = None

TABLES = ("households", "household_members", "needs", "resources", "projects", "organisations")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))
            batch_op.add_column(sa.Column("archive_reason", sa.Text(), nullable=True))
            batch_op.add_column(sa.Column("archived_by_id", sa.Integer(), nullable=True))
            batch_op.create_index(f"ix_{table}_archived_at", ["archived_at"], unique=False)
            batch_op.create_foreign_key(
                f"fk_{table}_archived_by_id_users",
                "users",
                ["archived_by_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_archived_by_id_users", type_="foreignkey")
            batch_op.drop_index(f"ix_{table}_archived_at")
            batch_op.drop_column("archived_by_id")
            batch_op.drop_column("archive_reason")
            batch_op.drop_column("archived_at")
