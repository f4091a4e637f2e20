"""accounts: session version, forced password change, failed-login lock

Revision ID: 6aa6e18323a3
Revises: d4b7e2a91c05
Create Date: 2026-11-29 09:00:00

Existing accounts start at auth_version 1 (their old cookies, which carry a plain id,
are refused once: everyone logs in again), with no forced change and no lock.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "6aa6e18323a3"
down_revision = "d4b7e2a91c05"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth_version", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("failed_login_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("locked_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("locked_at")
        batch_op.drop_column("failed_login_count")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("auth_version")
