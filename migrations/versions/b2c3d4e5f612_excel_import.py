"""excel import: import_batches (one row per uploaded workbook: the file, its dry run,
its commit)

Revision ID: b2c3d4e5f612
Revises: f3c8a6d2e915
Create Date: 2026-12-02 02:10:00

The uploaded file is kept in the row (``content``) so that a job worker on another
machine reads it and the error workbook can be made again; the audit rows of the
records an import writes name it in ``audit_events.detail`` (no column added there).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b2c3d4e5f612"
down_revision = "f3c8a6d2e915"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("default_community_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("notes", sa.JSON(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("commit_mode", sa.String(length=8), nullable=True),
        sa.Column("committed_by_id", sa.Integer(), nullable=True),
        sa.Column("committed_at", sa.DateTime(), nullable=True),
        sa.Column("committed_counts", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('households', 'resources')", name=op.f("ck_import_batches_kind")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'checking', 'checked', 'refused', 'committing', "
            "'committed', 'failed')",
            name=op.f("ck_import_batches_status"),
        ),
        sa.CheckConstraint(
            "commit_mode IS NULL OR commit_mode IN ('all', 'valid')",
            name=op.f("ck_import_batches_commit_mode"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_batches_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["committed_by_id"],
            ["users.id"],
            name=op.f("fk_import_batches_committed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["street_id"], ["areas.id"], name=op.f("fk_import_batches_street_id_areas")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["areas.id"], name=op.f("fk_import_batches_community_id_areas")
        ),
        sa.ForeignKeyConstraint(
            ["default_community_id"],
            ["areas.id"],
            name=op.f("fk_import_batches_default_community_id_areas"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    with op.batch_alter_table("import_batches") as batch_op:
        for column in ("status", "sha256", "user_id", "street_id", "community_id", "created_at"):
            batch_op.create_index(batch_op.f(f"ix_import_batches_{column}"), [column])


def downgrade():
    op.drop_table("import_batches")
