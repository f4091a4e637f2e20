"""Imports of Excel workbooks (households with members, resources): one row per
uploaded file, which keeps the file, its dry run and what its commit did.

The rules (reading, checking, committing) live in ``app/services/imports/``; this
table is what a clerk and the district administrator find later: who imported which
file (its name and SHA-256), when, into which area, how many rows of each class, and
the error report (``errors``: one entry per bad cell, row and column named).

The batch is not itself written to the audit trail (its progress counter changes
every few hundred rows); the records an import creates or changes are, each audit
row naming the import (``app/models/audit.py``, ``import_context``).
"""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.area import Area
from app.models.base import utcnow
from app.models.choices import check_in
from app.models.user import User

IMPORT_KINDS = [
    ("households", _l("Households and members")),
    ("resources", _l("Resources")),
]
IMPORT_STATUSES = [
    ("queued", _l("Waiting to be checked")),
    ("checking", _l("Checking")),
    ("checked", _l("Checked")),
    ("refused", _l("Refused")),
    ("committing", _l("Importing")),
    ("committed", _l("Imported")),
    ("failed", _l("Failed")),
]
#: the statuses in which a job works on the batch (the page polls its progress)
RUNNING_STATUSES = ("queued", "checking", "committing")
#: how a dry run classifies each row
ROW_CLASSES = [
    ("new", _l("New")),
    ("update", _l("Update")),
    ("unchanged", _l("No change")),
    ("error", _l("Error")),
]
COMMIT_MODES = [("all", _l("All rows")), ("valid", _l("Valid rows only"))]


class ImportBatch(db.Model):
    """One uploaded workbook and what became of it."""

    __tablename__ = "import_batches"
    __audited__ = False
    __table_args__ = (
        CheckConstraint(check_in("kind", IMPORT_KINDS), name="kind"),
        CheckConstraint(check_in("status", IMPORT_STATUSES), name="status"),
        CheckConstraint(
            "commit_mode IS NULL OR " + check_in("commit_mode", COMMIT_MODES), name="commit_mode"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    #: the name it was uploaded under (shown, never used on disk)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    #: the uploaded file itself, kept so that a worker on another machine can read it
    #: and the highlighted error workbook can be made from it
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    #: who uploaded it; their street and community at the time (the batch's scope)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    #: rows without a community cell go to this community (a community's own workbook)
    default_community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    #: the RQ job working on it now (None: inline, or none)
    job_id: Mapped[str | None] = mapped_column(String(64))
    #: rows of data in the file, and rows the running job has got through
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    #: the dry run: rows per class ({"new": 3, "update": 1, "unchanged": 0, "error": 2})
    counts: Mapped[dict | None] = mapped_column(JSON)
    #: the dry run's error report: [{"row": 7, "column": "身份证号", "message": ...,
    #: "household_id": 12 (a link, only to a household in the user's area)}]
    errors: Mapped[list | None] = mapped_column(JSON)
    #: dry run's notes that are not errors ("已登记，将更新" with a link), same shape
    notes: Mapped[list | None] = mapped_column(JSON)
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: why the file was refused, or why the import failed (shown to the user)
    message: Mapped[str | None] = mapped_column(Text)
    commit_mode: Mapped[str | None] = mapped_column(String(8))
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    committed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: what the commit did, by class (rows), and the households/resources it touched
    committed_counts: Mapped[dict | None] = mapped_column(JSON)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    committed_by: Mapped[User | None] = relationship(foreign_keys=[committed_by_id])
    street: Mapped[Area | None] = relationship(foreign_keys=[street_id])
    community: Mapped[Area | None] = relationship(foreign_keys=[community_id])
    default_community: Mapped[Area | None] = relationship(foreign_keys=[default_community_id])

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING_STATUSES

    @property
    def error_count(self) -> int:
        return int((self.counts or {}).get("error", 0))

    @property
    def valid_count(self) -> int:
        counts = self.counts or {}
        return sum(int(counts.get(k, 0)) for k in ("new", "update", "unchanged"))

    @property
    def percent_done(self) -> int:
        if not self.rows_total:
            return 100 if not self.is_running else 0
        return min(100, round(100 * self.rows_done / self.rows_total))

    def __str__(self) -> str:
        return f"#{self.id} {self.file_name}"
