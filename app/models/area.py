"""The district → street → community tree, and records owned by a place in it."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.extensions import db
from app.models.base import TrackedMixin
from app.models.choices import AREA_LEVELS, check_in
from app.validation import InvalidValue


class Area(TrackedMixin, db.Model):
    """A district, a street (街道) or a community (社区)."""

    __tablename__ = "areas"
    __table_args__ = (
        UniqueConstraint("parent_id", "name", name="uq_areas_parent_name"),
        CheckConstraint(check_in("level", AREA_LEVELS), name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    #: district / street / community
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    #: administrative code, optional
    code: Mapped[str | None] = mapped_column(String(20), unique=True)

    #: joined: a community prints as "street · community", and lists print dozens of
    #: them (one lazy load per street was the lists' N+1)
    parent: Mapped["Area | None"] = relationship(
        remote_side=[id], back_populates="children", lazy="joined", join_depth=1
    )
    children: Mapped[list["Area"]] = relationship(back_populates="parent", order_by="Area.name")

    @property
    def street_id(self) -> int | None:
        if self.level == "street":
            return self.id
        if self.level == "community":
            return self.parent_id
        return None

    @property
    def full_name(self) -> str:
        if self.level == "community" and self.parent is not None:
            return f"{self.parent.name} · {self.name}"
        return self.name

    def check_consistency(self) -> None:
        expected = {"district": None, "street": "district", "community": "street"}
        parent = self.parent
        if parent is None and self.parent_id is not None:
            parent = db.session.get(Area, self.parent_id)
        parent_level = parent.level if parent is not None else None
        if expected.get(self.level, "?") != parent_level:
            raise InvalidValue(_l("A street belongs to the district and a community to a street."))

    def __str__(self) -> str:
        return self.full_name


class AreaOwnedMixin:
    """A record owned by a street and, optionally, one of its communities.

    ``street_id`` is always derived from the community when one is set (see
    ``_derive_areas`` in ``app/models/__init__.py``), so the two never disagree. A null
    street means the record belongs to the district as a whole.
    """

    #: the community can be left empty only for street- or district-level records
    community_required = True

    @declared_attr
    def street_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("areas.id"), index=True, nullable=True)

    @declared_attr
    def community_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("areas.id"), index=True, nullable=True)

    @declared_attr
    def street(cls) -> Mapped["Area | None"]:
        return relationship(foreign_keys=[cls.street_id])

    @declared_attr
    def community(cls) -> Mapped["Area | None"]:
        return relationship(foreign_keys=[cls.community_id])

    def resolved_areas(self) -> tuple["Area | None", "Area | None"]:
        """(street, community) as they will be saved, whether a form set the
        relationship or only the id."""
        community = self.community
        if community is None and self.community_id is not None:
            community = db.session.get(Area, self.community_id)
        street = self.street
        if street is None and self.street_id is not None:
            street = db.session.get(Area, self.street_id)
        return street, community

    def check_consistency(self) -> None:
        """The community is a community, the street a street, and the one lies in the
        other; records that need a community have one."""
        street, community = self.resolved_areas()
        if community is not None and community.level != "community":
            raise InvalidValue(_l("Choose a community, not a street or district."))
        if street is not None and street.level != "street":
            raise InvalidValue(_l("Choose a street, not a community or district."))
        if community is not None and street is not None and community.parent_id != street.id:
            raise InvalidValue(_l("The community does not belong to the chosen street."))
        if self.community_required and community is None:
            raise InvalidValue(_l("Choose the community this record belongs to."))
