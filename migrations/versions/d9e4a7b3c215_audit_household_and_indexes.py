"""audit trail at scale and retention: each event names its household (a household's
history finds its members', needs', visits' and status changes' events, deleted ones
too); the indexes the history and the audit log need at ten million rows; purges past
the retention (audit_purges, immutable), the only DELETE of events the triggers allow

Revision ID: d9e4a7b3c215
Revises: c3d4e5f6a713
Create Date: 2026-12-02 14:00:00

Adding a nullable column and indexes changes no row, so the immutability triggers are
not involved. Events recorded before this revision have no household; the history
finds those through the household's parts as they are now
(``services.audit._events_of``). The trigger statements are the ones
app/models/audit.py makes for ``db.create_all()``, written out here so that this
revision does not change when the models do.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d9e4a7b3c215"
down_revision = "c3d4e5f6a713"
branch_labels = None
depends_on = None

NEW_INDEXES = {
    "ix_audit_events_record": ["record_type", "record_id", "id"],
    "ix_audit_events_occurred_at": ["occurred_at", "id"],
    "ix_audit_events_user_time": ["user_id", "occurred_at", "id"],
    "ix_audit_events_street_time": ["street_id", "occurred_at", "id"],
    "ix_audit_events_action": ["action", "occurred_at", "id"],
}
OLD_INDEXES = {
    "ix_audit_events_record": ["record_type", "record_id"],
    "ix_audit_events_occurred_at": ["occurred_at"],
    "ix_audit_events_user_time": ["user_id", "occurred_at"],
    "ix_audit_events_street_time": ["street_id", "occurred_at"],
    "ix_audit_events_action": ["action"],
}
MESSAGE = "audit_events rows are immutable"
PURGES_MESSAGE = "audit_purges rows are immutable"
COVERED = (
    "EXISTS (SELECT 1 FROM audit_purges p"
    " WHERE OLD.id <= p.last_id AND OLD.occurred_at < p.occurred_before)"
)
SQLITE_UP = [
    "DROP TRIGGER audit_events_no_delete",
    f"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events WHEN NOT {COVERED} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    *(
        f"CREATE TRIGGER audit_purges_no_{op_.lower()} BEFORE {op_} ON audit_purges "
        f"BEGIN SELECT RAISE(ABORT, '{PURGES_MESSAGE}'); END"
        for op_ in ("UPDATE", "DELETE")
    ),
]
SQLITE_DOWN = [
    "DROP TRIGGER audit_events_no_delete",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
POSTGRESQL_UP = [
    "CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP = 'DELETE' AND {COVERED} THEN RETURN OLD; END IF; "
    f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "CREATE OR REPLACE FUNCTION audit_purges_immutable() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{PURGES_MESSAGE}' USING ERRCODE = 'restrict_violation'; "
    "END $$",
    "CREATE TRIGGER audit_purges_immutable BEFORE UPDATE OR DELETE ON audit_purges "
    "FOR EACH ROW EXECUTE FUNCTION audit_purges_immutable()",
    "CREATE TRIGGER audit_purges_no_truncate BEFORE TRUNCATE ON audit_purges "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_purges_immutable()",
]
POSTGRESQL_DOWN = [
    "CREATE OR REPLACE FUNCTION audit_events_immutable() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation'; "
    "END $$",
]


def upgrade():
    op.add_column("audit_events", sa.Column("household_id", sa.Integer(), nullable=True))
    op.create_index("ix_audit_events_household", "audit_events", ["household_id", "id"])
    # each list order read from an index (a record's history by id; the audit log by
    # occurred_at, id, narrowed by user, street or action): never a sort of millions
    for name, columns in NEW_INDEXES.items():
        op.drop_index(name, table_name="audit_events")
        op.create_index(name, "audit_events", columns)
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "audit_purges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purged_at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("occurred_before", sa.DateTime(), nullable=False),
        sa.Column("last_id", big_id, nullable=False),
        sa.Column("rows", big_id, nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_purges")),
    )
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_UP
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    else:
        for statement in POSTGRESQL_DOWN:
            op.execute(statement)
        op.execute("DROP FUNCTION audit_purges_immutable() CASCADE")
    op.drop_table("audit_purges")
    for name, columns in OLD_INDEXES.items():
        op.drop_index(name, table_name="audit_events")
        op.create_index(name, "audit_events", columns)
    op.drop_index("ix_audit_events_household", table_name="audit_events")
    # not a batch copy on SQLite: that would drop the table's triggers with it
    op.execute("ALTER TABLE audit_events DROP COLUMN household_id")
