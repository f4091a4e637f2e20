"""Households in hardship (困难家庭) and their members."""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship, validates
from sqlalchemy.schema import DDL

from app.extensions import db
from app.models import area_tree
from app.models.area import AreaOwnedMixin
from app.models.base import ArchivableMixin, TrackedMixin, has_changed
from app.models.choices import (
    DISABILITY_TYPES,
    EMPLOYMENT_STATUSES,
    GENDERS,
    HOUSEHOLD_STATUSES,
    INTAKE_CHANNELS,
    REFERRAL_CHANNELS,
    RELATIONS,
    check_in,
    label,
)
from app.validation import (
    InvalidValue,
    birth_date_from_id,
    check_not_future,
    gender_from_id,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_money,
    normalize_phone,
)


class DuplicateRegistration(InvalidValue):
    """The ID number is already registered in the district (``kind``: "head" or
    "member"; ``record_id``: the other household or member). Raised on save; what the
    user is told about the other record depends on their area (``services.people``)."""

    def __init__(self, kind: str, record_id: int | None, field: str):
        self.kind, self.record_id, self.field = kind, record_id, field
        super().__init__(_l("This ID number is already registered in the district."))


#: ``session.info`` key of a ``KnownUnregistered``: set around ONE flush by whoever
#: looked a chunk's ID numbers up set-based just before it (an import,
#: ``services.imports.households``), removed after it; the unique indexes stay the
#: last word on a number registered meanwhile by another transaction.
KNOWN_UNREGISTERED = "yijia_known_unregistered"


class KnownUnregistered:
    """ID numbers found in neither households nor members (``find_registration``
    skips its two queries for them), and, built on first use within the flush, the
    session's pending objects by ID number, so that checking each of a few hundred
    new people is not a scan of all the others each."""

    def __init__(self, numbers):
        self.numbers = frozenset(numbers)
        self.pending: dict[str, list] | None = None

    def pending_with(self, session, number: str) -> list:
        if self.pending is None:
            self.pending = {}
            for obj in list(session.new) + list(session.dirty):
                if isinstance(obj, Household) and obj.head_id_number:
                    self.pending.setdefault(obj.head_id_number, []).append(obj)
                elif isinstance(obj, Member) and obj.id_number:
                    self.pending.setdefault(obj.id_number, []).append(obj)
        return self.pending.get(number, [])


def find_registration(
    session, number: str | None, *, not_this=None
) -> tuple[str, int | None] | None:
    """("head", household id) or ("member", member id) of whoever has ``number`` in the
    district — saved, or about to be saved in this session — other than ``not_this``.
    Deliberately unscoped: a person is registered once, whichever street holds them."""
    if not number:
        return None
    known = session.info.get(KNOWN_UNREGISTERED)
    pending = (
        known.pending_with(session, number)
        if known is not None
        else list(session.new) + list(session.dirty)
    )
    for obj in pending:
        if obj is not_this and obj is not None:
            continue
        if isinstance(obj, Household) and obj.head_id_number == number:
            return "head", obj.id
        if isinstance(obj, Member) and obj.id_number == number and obj not in session.deleted:
            return "member", obj.id
    if known is not None and number in known.numbers:
        return None  # saved nowhere (looked up just before this flush), pending checked above
    heads = select(Household.id).where(Household.head_id_number == number)
    members = select(Member.id).where(Member.id_number == number)
    if isinstance(not_this, Household) and not_this.id is not None:
        heads = heads.where(Household.id != not_this.id)
    if isinstance(not_this, Member) and not_this.id is not None:
        members = members.where(Member.id != not_this.id)
    gone = {o.id for o in session.deleted if isinstance(o, Member)}
    with session.no_autoflush:
        head = session.scalar(heads.limit(1))
        if head is not None:
            return "head", head
        member = session.scalar(members.limit(1))
    if member is not None and member not in gone:
        return "member", member
    return None


def check_registered_once(obj, number: str | None, field: str) -> None:
    """A person is the head of one household or a member of one, never both or twice."""
    session = object_session(obj)
    if session is None or not number:
        return
    found = find_registration(session, number, not_this=obj)
    if found is not None:
        raise DuplicateRegistration(*found, field=field)


household_categories = Table(
    "household_categories",
    db.metadata,
    Column("household_id", ForeignKey("households.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "category_id", ForeignKey("hardship_categories.id", ondelete="RESTRICT"), primary_key=True
    ),
)


class HouseholdPartMixin:
    """A row inside a household (a member, a need): it carries a copy of the
    household's street and community so it is scoped and filtered like it."""

    #: like its household, always in a community (access's scope criteria rely on it)
    community_required = True

    def resolved_household(self) -> "Household | None":
        if self.household is not None:
            return self.household
        return db.session.get(Household, self.household_id) if self.household_id else None


class Household(AreaOwnedMixin, ArchivableMixin, TrackedMixin, db.Model):
    """A household in hardship, known to exactly one community."""

    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint(check_in("status", HOUSEHOLD_STATUSES), name="status"),
        CheckConstraint(check_in("intake_channel", INTAKE_CHANNELS), name="intake_channel"),
        CheckConstraint("monthly_income IS NULL OR monthly_income >= 0", name="income"),
        CheckConstraint(
            "disability_grade IS NULL OR disability_grade BETWEEN 1 AND 4", name="grade"
        ),
        CheckConstraint("community_id IS NOT NULL", name="community"),
        CheckConstraint(
            "disability_type IS NULL OR " + check_in("disability_type", DISABILITY_TYPES),
            name="disability_type",
        ),
        Index("ix_households_street_status", "street_id", "status"),
        Index("ix_households_community_status", "community_id", "status"),
        # a list's pages of a street or community: the ids alone, newest first, from
        # the index (page 500 of a street is an index-only scan, not 10,000 rows read)
        Index(
            "ix_households_street_page",
            "street_id",
            "id",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
        # the to-do list's visits due: registered cases, longest waiting first (in the
        # district, in a street)
        Index(
            "ix_households_status_intake",
            "status",
            "intake_date",
            "id",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
        Index(  # with id: cases registered the same day (an import) keep their order
            "ix_households_street_status_intake_id",
            "street_id",
            "status",
            "intake_date",
            "id",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
        Index(
            "ix_households_community_page",
            "community_id",
            "id",
            postgresql_where=text("archived_at IS NULL"),
            sqlite_where=text("archived_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    head_name: Mapped[str] = mapped_column(String(40), index=True)
    #: GB 11643 resident ID of the head of household; validated and stored upper-case
    head_id_number: Mapped[str] = mapped_column(String(18), unique=True)
    head_gender: Mapped[str | None] = mapped_column(String(8))
    head_birth_date: Mapped[dt.date | None] = mapped_column(Date)
    head_phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200))
    disability_type: Mapped[str | None] = mapped_column(String(16))
    disability_grade: Mapped[int | None] = mapped_column(Integer)
    #: household income per month, yuan
    monthly_income: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    #: insurance and subsidies already received (医保, 护理补贴, 养老金 …)
    existing_support: Mapped[str | None] = mapped_column(Text)
    intake_channel: Mapped[str] = mapped_column(String(24))
    intake_date: Mapped[dt.date] = mapped_column(Date, default=dt.date.today, index=True)
    assigned_worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="registered", index=True)
    #: who referred the household (for the referral channels): an organisation …
    referrer_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    #: … or a person (the neighbour who told the community)
    referrer_person: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)

    categories: Mapped[list["HardshipCategory"]] = relationship(  # noqa: F821
        secondary=household_categories, order_by="HardshipCategory.sort_order"
    )
    members: Mapped[list["Member"]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="Member.id"
    )
    needs: Mapped[list["Need"]] = relationship(  # noqa: F821
        back_populates="household", cascade="all, delete-orphan", order_by="Need.id"
    )
    assigned_worker: Mapped["User | None"] = relationship(  # noqa: F821
        foreign_keys=[assigned_worker_id]
    )
    referrer_organisation: Mapped["Organisation | None"] = relationship()  # noqa: F821
    transitions: Mapped[list["CaseTransition"]] = relationship(  # noqa: F821
        back_populates="household",
        cascade="all, delete-orphan",
        order_by="CaseTransition.occurred_at",
    )
    assessments: Mapped[list["Assessment"]] = relationship(  # noqa: F821
        back_populates="household",
        cascade="all, delete-orphan",
        order_by="(Assessment.visit_date, Assessment.id)",
    )
    service_records: Mapped[list["ServiceRecord"]] = relationship(  # noqa: F821
        back_populates="household",
        cascade="all, delete-orphan",
        order_by="(ServiceRecord.delivered_on, ServiceRecord.id)",
    )
    support_plans: Mapped[list["SupportPlan"]] = relationship(  # noqa: F821
        back_populates="household", order_by="SupportPlan.starts_on"
    )

    @validates("head_id_number")
    def _check_id(self, _key, value):
        number = normalize_id_number(value)
        self.head_gender = gender_from_id(number)
        self.head_birth_date = birth_date_from_id(number)
        return number

    @validates("head_phone")
    def _check_phone(self, _key, value):
        return normalize_phone(value) if value else None

    @validates("monthly_income")
    def _check_income(self, _key, value):
        return normalize_money(value)

    @validates("intake_date")
    def _check_intake_date(self, _key, value):
        return check_not_future(value)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.head_id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.head_phone)

    @property
    def member_count(self) -> int:
        return len(self.members) + 1

    def check_consistency(self) -> None:
        """Before every flush that writes this household: the referral rule and the
        status-change rule, whoever saves (panel, CLI, import, services)."""
        AreaOwnedMixin.check_consistency(self)
        session = object_session(self)
        is_new = session is None or self in session.new
        if is_new or has_changed(
            self,
            "intake_channel",
            "referrer_organisation_id",
            "referrer_organisation",
            "referrer_person",
        ):
            self.check_intake()
        if not is_new and has_changed(self, "status"):
            self.check_status_change(session)
        if is_new or has_changed(self, "head_id_number"):
            check_registered_once(self, self.head_id_number, "head_id_number")

    def check_intake(self) -> None:
        """Referral channels need a referrer (an organisation or a person); a household
        that asked for help itself, or that the community found, needs none."""
        if self.intake_channel not in REFERRAL_CHANNELS:
            return
        has_org = (
            self.referrer_organisation is not None or self.referrer_organisation_id is not None
        )
        if not has_org and not (self.referrer_person or "").strip():
            raise InvalidValue(
                _l(
                    "This household was referred (%(channel)s): name the referring "
                    "organisation or the person who referred it.",
                    channel=label(INTAKE_CHANNELS, self.intake_channel),
                )
            )

    def check_status_change(self, session) -> None:
        """A saved household's status changes only together with the ``CaseTransition``
        that records the move (made by ``services.casework.transition_case``)."""
        # the class through the mapper, not an import: casework models import this module
        transition_class = inspect(type(self)).relationships["transitions"].mapper.class_
        history = inspect(self).attrs.status.history
        old = history.deleted[0] if history.deleted else None
        recorded = any(
            isinstance(obj, transition_class)
            and (obj.household is self or obj.household_id == self.id)
            and obj.from_status == old
            and obj.to_status == self.status
            for obj in session.new
        )
        if not recorded:
            raise InvalidValue(
                _l(
                    "A case's status changes only through a recorded status change "
                    "(from %(from_status)s to %(to_status)s was refused).",
                    from_status=label(HOUSEHOLD_STATUSES, old),
                    to_status=label(HOUSEHOLD_STATUSES, self.status),
                )
            )

    def __str__(self) -> str:
        # Names only: a household's label appears in drop-downs and must not carry an ID.
        # The community's name from the kept area tree, not by loading the Area: lists
        # of needs, visits and services print dozens of households.
        community = self.__dict__.get("community")
        name = ""
        if community is None and self.community_id is not None:
            name = area_tree.tree().name(self.community_id)
        if not name:
            community = self.community
            name = community.name if community is not None else ""
        return f"{self.head_name}（{name}）"


class Member(HouseholdPartMixin, ArchivableMixin, TrackedMixin, db.Model):
    """A person living in a household other than its head."""

    __tablename__ = "household_members"
    __table_args__ = (
        CheckConstraint(check_in("relation", RELATIONS), name="relation"),
        CheckConstraint(
            "employment IS NULL OR " + check_in("employment", EMPLOYMENT_STATUSES),
            name="employment",
        ),
        CheckConstraint(
            "disability_type IS NULL OR " + check_in("disability_type", DISABILITY_TYPES),
            name="disability_type",
        ),
        CheckConstraint(
            "disability_grade IS NULL OR disability_grade BETWEEN 1 AND 4", name="grade"
        ),
        CheckConstraint("gender IS NULL OR " + check_in("gender", GENDERS), name="gender"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    #: copied from the household, so members are scoped and filtered like it
    street_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    relation: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    health: Mapped[str | None] = mapped_column(Text)
    disability_type: Mapped[str | None] = mapped_column(String(16))
    disability_grade: Mapped[int | None] = mapped_column(Integer)
    employment: Mapped[str | None] = mapped_column(String(16))

    household: Mapped[Household] = relationship(back_populates="members")
    street = relationship("Area", foreign_keys=[street_id], viewonly=True)
    community = relationship("Area", foreign_keys=[community_id], viewonly=True)

    @validates("id_number")
    def _check_id(self, _key, value):
        if not value:
            return None
        number = normalize_id_number(value)
        self.gender = gender_from_id(number)
        self.birth_date = birth_date_from_id(number)
        return number

    @validates("birth_date")
    def _check_birth(self, _key, value):
        return check_not_future(value)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    def check_consistency(self) -> None:
        """Before every flush that writes this member: registered once in the district."""
        session = object_session(self)
        if session is not None and (self in session.new or has_changed(self, "id_number")):
            check_registered_once(self, self.id_number, "id_number")

    def __str__(self) -> str:
        return self.name


# ----------------------------------------------------------------- name search
# Searching a name or address for a substring ("秀英") must not read a million rows.
# pg_trgm cannot help: a two-character Chinese name yields no trigram, and its GIN
# index then scans whole. On PostgreSQL, ``yj_grams(text)`` gives every one- and
# two-character piece of a text, from built-in functions only (one expression: the
# planner inlines it, a few microseconds a row); GIN indexes over it answer "which rows
# hold every piece of the search term" from the index (``services.people``: an ILIKE
# rechecks terms of three characters or more). SQLite (the demo's few hundred rows)
# uses ILIKE alone. The same statements are in the migration that adds them.
GRAMS_FUNCTION = (
    "CREATE OR REPLACE FUNCTION yj_grams(value text) RETURNS text[] "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_remove("
    "string_to_array(lower(value), NULL) "
    "|| string_to_array(regexp_replace(lower(value), '(..)', '\\1,', 'g'), ',') "
    "|| string_to_array(regexp_replace(substr(lower(value), 2), '(..)', '\\1,', 'g'), ','), "
    "'') $$"
)
GRAMS_INDEXES = {
    "ix_households_head_name_grams": "head_name",
    "ix_households_address_grams": "address",
}


def grams(term: str) -> list[str]:
    """The pieces ``yj_grams`` would index for ``term`` that a match must contain: its
    two-character pieces (or the character itself, for one character)."""
    term = term.lower()
    if len(term) == 1:
        return [term]
    return sorted({term[i : i + 2] for i in range(len(term) - 1)})


event.listen(
    Household.__table__,
    "after_create",
    DDL(GRAMS_FUNCTION).execute_if(dialect="postgresql"),
)
for _name, _column in GRAMS_INDEXES.items():
    event.listen(
        Household.__table__,
        "after_create",
        DDL(f"CREATE INDEX {_name} ON households USING gin (yj_grams({_column}))").execute_if(
            dialect="postgresql"
        ),
    )
