"""Resource lists (资源清单): what providers can offer, and where."""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, Numeric, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db
from app.models.area import AreaOwnedMixin
from app.models.base import ArchivableMixin, TrackedMixin
from app.models.choices import NEED_CATEGORIES, RESOURCE_KINDS, RESOURCE_STATUSES, check_in
from app.validation import InvalidValue, normalize_money, normalize_phone

resource_areas = Table(
    "resource_areas",
    db.metadata,
    Column("resource_id", ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
)


class Resource(AreaOwnedMixin, ArchivableMixin, TrackedMixin, db.Model):
    """Something a provider can give: funds, material, policy, medical, service or
    employment help. The provider is an organisation or a named person (a neighbour)."""

    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint(check_in("kind", RESOURCE_KINDS), name="kind"),
        CheckConstraint(check_in("status", RESOURCE_STATUSES), name="status"),
        CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity"),
        CheckConstraint("value_yuan IS NULL OR value_yuan >= 0", name="value"),
        CheckConstraint(
            "provider_organisation_id IS NOT NULL OR provider_person IS NOT NULL",
            name="provider",
        ),
        CheckConstraint(
            "available_until IS NULL OR available_until >= available_from", name="window"
        ),
        CheckConstraint(
            "category IS NULL OR " + check_in("category", NEED_CATEGORIES), name="category"
        ),
        CheckConstraint(
            "used_quantity >= 0 AND (quantity IS NULL OR used_quantity <= quantity)",
            name="capacity",
        ),
    )
    community_required = False

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    #: the kind of need it meets best (a need category), used to rank suggestions
    category: Mapped[str | None] = mapped_column(String(24), index=True)
    provider_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    #: a named individual, such as the neighbour of the good-neighbour plan
    provider_person: Mapped[str | None] = mapped_column(String(40))
    provider_phone: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    unit: Mapped[str | None] = mapped_column(String(16))
    #: capacity in use by active matches (``quantity`` is the capacity; none = unlimited);
    #: kept by ``app/services/matching.py`` with a conditional update, CHECKed in SQL
    used_quantity: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), default=Decimal("0"), server_default=text("0")
    )
    value_yuan: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    available_from: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)
    available_until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="available", index=True)

    provider_organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    served_areas: Mapped[list["Area"]] = relationship(  # noqa: F821
        secondary=resource_areas, order_by="Area.name"
    )
    matches: Mapped[list["NeedMatch"]] = relationship(  # noqa: F821
        back_populates="resource", order_by="NeedMatch.id"
    )

    @property
    def remaining_quantity(self) -> Decimal | None:
        if self.quantity is None:
            return None
        return self.quantity - (self.used_quantity or Decimal("0"))

    @validates("value_yuan", "quantity")
    def _check_amount(self, _key, value):
        return normalize_money(value)

    @validates("provider_phone")
    def _check_phone(self, _key, value):
        return normalize_phone(value) if value else None

    @property
    def provider_name(self) -> str:
        if self.provider_organisation is not None:
            return self.provider_organisation.name
        return self.provider_person or ""

    def check_consistency(self) -> None:
        AreaOwnedMixin.check_consistency(self)
        if self.provider_organisation is None and not self.provider_person:
            raise InvalidValue(_l("Name the provider: an organisation or a person."))
        if (
            self.available_until
            and self.available_from
            and self.available_until < self.available_from
        ):
            raise InvalidValue(_l("The availability ends before it starts."))

    def __str__(self) -> str:
        return self.name
