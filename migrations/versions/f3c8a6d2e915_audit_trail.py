"""audit trail: audit_events (immutable: no UPDATE, DELETE or TRUNCATE), and TRUNCATE
refused on fund_ledger too

Revision ID: f3c8a6d2e915
Revises: e7a1c3d9b240
Create Date: 2026-12-02 10:00:00

The triggers are the same statements as app/models/audit.py and app/models/fund.py
make for ``db.create_all()``; written out here so that this revision does not change
when the models do.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f3c8a6d2e915"
down_revision = "e7a1c3d9b240"
branch_labels = None
depends_on = None

MESSAGE = "audit_events rows are immutable"
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_events_no_{op_.lower()} BEFORE {op_} ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    for op_ in ("UPDATE", "DELETE")
]
POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "CREATE TRIGGER audit_events_immutable BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_immutable()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_immutable()",
    # fund_ledger's triggers (d4b7e2a91c05) are row-level, which TRUNCATE skips
    "CREATE TRIGGER fund_ledger_no_truncate BEFORE TRUNCATE ON fund_ledger "
    "FOR EACH STATEMENT EXECUTE FUNCTION fund_ledger_immutable()",
]


def upgrade():
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "audit_events",
        sa.Column("id", big_id, nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_role", sa.String(length=20), nullable=True),
        sa.Column("user_area_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=True),
        sa.Column("record_id", big_id, nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_record", "audit_events", ["record_type", "record_id"])
    op.create_index("ix_audit_events_user_time", "audit_events", ["user_id", "occurred_at"])
    op.create_index("ix_audit_events_street_time", "audit_events", ["street_id", "occurred_at"])
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"])
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"])
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}
    for statement in statements.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS fund_ledger_no_truncate ON fund_ledger")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_immutable ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_immutable()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    op.drop_table("audit_events")
