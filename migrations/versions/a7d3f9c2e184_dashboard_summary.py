"""the dashboard's summary: counts per day, area and key (dashboard_daily) and its
refreshes (dashboard_refreshes)

Revision ID: a7d3f9c2e184
Revises: e5a8c2f41b07
Create Date: 2026-12-02 03:10:00

Filled by ``app/services/dashboard/summary.py`` ``refresh`` (``flask
dashboard-refresh``); derived data, recomputed at will, so area ids carry no foreign
keys (a summary row never holds up an area's deletion). ``ix_needs_resolved_on``: the
needs met today, counted live, without a scan of every need.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7d3f9c2e184"
down_revision = "e5a8c2f41b07"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dashboard_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("figure", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("key1", sa.String(length=40), nullable=False),
        sa.Column("key2", sa.String(length=40), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_daily")),
    )
    op.create_index(
        "ix_dashboard_daily_read",
        "dashboard_daily",
        ["figure", "level", "street_id", "day"],
        unique=False,
    )
    op.create_index("ix_needs_resolved_on", "needs", ["resolved_on"], unique=False)
    op.create_table(
        "dashboard_refreshes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("covered_from", sa.Date(), nullable=True),
        sa.Column("covered_to", sa.Date(), nullable=True),
        sa.Column("day_from", sa.Date(), nullable=True),
        sa.Column("day_to", sa.Date(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_refreshes")),
    )


def downgrade():
    op.drop_table("dashboard_refreshes")
    op.drop_index("ix_needs_resolved_on", table_name="needs")
    op.drop_index("ix_dashboard_daily_read", table_name="dashboard_daily")
    op.drop_table("dashboard_daily")
