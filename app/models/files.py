"""Evidence files: photos, receipts, agreements, menu lists.

One table for every file the programme keeps, whatever record it proves: a service
record, a special-fund ledger entry, a support plan's agreement or one month of a
support plan. Exactly one owner is set. The file itself lives on disk under a
generated name (``stored_name``) outside the static folder; it is stored, checked and
served only by ``app/services/files.py``.

Each row carries a copy of its owner's street and community (and household, when the
owner belongs to one), so files are scoped like the record they prove.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TrackedMixin, copy_areas
from app.models.choices import EVIDENCE_KINDS, check_in
from app.validation import InvalidValue

#: the relationships that can own a file; exactly one is set
FILE_OWNERS = ("service_record", "ledger_entry", "support_plan", "plan_month")


class StoredFile(TrackedMixin, db.Model):
    __tablename__ = "stored_files"
    __table_args__ = (
        CheckConstraint(check_in("kind", EVIDENCE_KINDS), name="kind"),
        CheckConstraint("size_bytes >= 0", name="size"),
        CheckConstraint(
            "(CASE WHEN service_record_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN ledger_entry_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN support_plan_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN plan_month_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_owner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: generated on upload (random hex + checked extension); the name on disk
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    #: the name it was uploaded under, cleaned; shown to users, never used on disk
    original_name: Mapped[str] = mapped_column(String(200))
    #: detected from the content (image/jpeg, image/png, image/webp, application/pdf)
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: photo / receipt / agreement / menu / other
    kind: Mapped[str] = mapped_column(String(16), default="photo")
    #: generated thumbnail's name on disk (images only)
    thumbnail_name: Mapped[str | None] = mapped_column(String(80))
    caption: Mapped[str | None] = mapped_column(Text)
    #: chosen by staff: no faces or personal data, may be shown to the project's sponsors
    is_shareable: Mapped[bool] = mapped_column(Boolean, default=False)

    service_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_records.id", ondelete="CASCADE"), index=True
    )
    ledger_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("fund_ledger.id", ondelete="RESTRICT"), index=True
    )
    support_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_plans.id", ondelete="CASCADE"), index=True
    )
    plan_month_id: Mapped[int | None] = mapped_column(
        ForeignKey("support_plan_months.id", ondelete="CASCADE"), index=True
    )

    #: copied from the owner (see ``app/models/__init__.py``), for scoping
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)

    service_record: Mapped["ServiceRecord | None"] = relationship(  # noqa: F821
        back_populates="files"
    )
    ledger_entry: Mapped["LedgerEntry | None"] = relationship(back_populates="files")  # noqa: F821
    support_plan: Mapped["SupportPlan | None"] = relationship(  # noqa: F821
        back_populates="files"
    )
    plan_month: Mapped["PlanMonth | None"] = relationship(back_populates="files")  # noqa: F821
    household: Mapped["Household | None"] = relationship()  # noqa: F821
    project: Mapped["Project | None"] = relationship()  # noqa: F821
    street: Mapped["Area | None"] = relationship(foreign_keys=[street_id])  # noqa: F821
    community: Mapped["Area | None"] = relationship(foreign_keys=[community_id])  # noqa: F821

    def _owners(self) -> list:
        owners = []
        for name in FILE_OWNERS:
            value = getattr(self, name)
            if value is None and getattr(self, f"{name}_id") is not None:
                rel = getattr(type(self), name).property.mapper.class_
                value = db.session.get(rel, getattr(self, f"{name}_id"))
            if value is not None:
                owners.append(value)
        return owners

    @property
    def owner(self):
        owners = self._owners()
        return owners[0] if owners else None

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    def copy_owner_areas(self) -> None:
        """Take household, project, street and community from the owning record
        (whose own areas are derived first: see ``app/models/__init__.py``)."""
        owner = self.owner
        if owner is None:
            return
        before = self.project_id
        copy_areas(self, owner)
        project = getattr(owner, "project", None)
        after = project.id if project is not None else getattr(owner, "project_id", None)
        if self.id is not None and before != after:
            # shared with one project's sponsors is not shared with another's
            self.is_shareable = False

    def check_consistency(self) -> None:
        if len(self._owners()) != 1:
            raise InvalidValue(_l("A file must belong to exactly one record."))

    def __str__(self) -> str:
        return self.original_name
