"""Organisations that refer cases, offer resources or sponsor projects."""

from sqlalchemy import Boolean, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from app.extensions import db
from app.models.area import AreaOwnedMixin
from app.models.base import ArchivableMixin, TrackedMixin
from app.models.choices import ORGANISATION_KINDS, check_in
from app.validation import normalize_phone


class Organisation(AreaOwnedMixin, ArchivableMixin, TrackedMixin, db.Model):
    """A government department, hospital, enterprise, social organisation, foundation,
    social-work centre or volunteer group. Owned by a street when a street office
    registered it, by the district otherwise."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(check_in("kind", ORGANISATION_KINDS), name="kind"),)
    community_required = False

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    contact_person: Mapped[str | None] = mapped_column(String(40))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    @validates("contact_phone")
    def _check_phone(self, _key, value):
        return normalize_phone(value) if value else None

    def __str__(self) -> str:
        return self.name
