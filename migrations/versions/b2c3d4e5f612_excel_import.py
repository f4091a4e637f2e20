"""excel import: import batches (placeholder, filled in by the import work)

Revision ID: b2c3d4e5f612
Revises: f3c8a6d2e915
Create Date: 2026-12-02 02:10:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "b2c3d4e5f612"
down_revision = "f3c8a6d2e915"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
