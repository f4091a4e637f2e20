"""monthly reports: the reports kept for the bureau, and the indexes the dashboard's
aggregates read by (new cases by area and intake date, needs by area and the day they
were found, services delivered for a need)

Revision ID: c3d4e5f6a713
Revises: b2c3d4e5f612
Create Date: 2026-12-02 02:10:00
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3d4e5f6a713"
down_revision = "b2c3d4e5f612"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_households_street_intake", "households", ["street_id", "intake_date"]),
    ("ix_households_community_intake", "households", ["community_id", "intake_date"]),
    ("ix_needs_street_identified", "needs", ["street_id", "identified_on"]),
    ("ix_needs_community_identified", "needs", ["community_id", "identified_on"]),
    ("ix_service_record_needs_need", "service_record_needs", ["need_id"]),
]


def upgrade():
    op.create_table(
        "monthly_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("xlsx_name", sa.String(length=80), nullable=True),
        sa.Column("pdf_name", sa.String(length=80), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')",
            name=op.f("ck_monthly_reports_status"),
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_monthly_reports_progress")),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_monthly_reports_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["areas.id"], name=op.f("fk_monthly_reports_street_id_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_reports")),
    )
    with op.batch_alter_table("monthly_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_monthly_reports_month_street", ["month", "street_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_monthly_reports_street_id"), ["street_id"], unique=False
        )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("monthly_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monthly_reports_street_id"))
        batch_op.drop_index("ix_monthly_reports_month_street")
    op.drop_table("monthly_reports")
