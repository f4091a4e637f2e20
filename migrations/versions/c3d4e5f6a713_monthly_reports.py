"""monthly reports (placeholder, filled in by the dashboard and report work)

Revision ID: c3d4e5f6a713
Revises: b2c3d4e5f612
Create Date: 2026-12-02 02:10:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "c3d4e5f6a713"
down_revision = "b2c3d4e5f612"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
