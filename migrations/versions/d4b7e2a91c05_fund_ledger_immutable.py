"""special fund: posted ledger rows cannot be updated or deleted (database triggers)

Revision ID: d4b7e2a91c05
Revises: c1e72503083b
Create Date: 2026-11-28 13:20:00

"""

from alembic import op

MESSAGE = "fund_ledger rows are immutable; post a reversing entry"
# the same statements as app/models/fund.py (for db.create_all()); written out here so
# this revision does not change when the models do
SQLITE_LEDGER_TRIGGERS = [
    f"CREATE TRIGGER fund_ledger_no_{op_.lower()} BEFORE {op_} ON fund_ledger "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    for op_ in ("UPDATE", "DELETE")
]
POSTGRESQL_LEDGER_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION fund_ledger_immutable() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "CREATE TRIGGER fund_ledger_immutable BEFORE UPDATE OR DELETE ON fund_ledger "
    "FOR EACH ROW EXECUTE FUNCTION fund_ledger_immutable()",
]

# revision identifiers, used by Alembic.
revision = "d4b7e2a91c05"
down_revision = "c1e72503083b"
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_LEDGER_TRIGGERS, "postgresql": POSTGRESQL_LEDGER_TRIGGERS}
    for statement in statements.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS fund_ledger_no_update")
        op.execute("DROP TRIGGER IF EXISTS fund_ledger_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS fund_ledger_immutable ON fund_ledger")
        op.execute("DROP FUNCTION IF EXISTS fund_ledger_immutable()")
