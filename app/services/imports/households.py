"""Households with their members, from a workbook: one row per person (or one row
for a household without members), rows grouped by the head's ID number.

Classification (the dry run, and again inside the commit's transaction):
- a head's ID number already registered as the head of a household the user may
  change → that household is updated (only the columns the file has; an empty cell
  or a masked export value changes nothing), or is unchanged;
- registered anywhere else in the district (another area, or as someone's member) →
  an error that says, outside the user's area, only that the district knows the
  person (``services.people.clash_for``'s rule);
- not registered → a new household, which needs every required column.
The same rules as the forms: the validators of ``app/validation.py`` read each cell
(``columns.parse_cell``), the model's own ``check_intake`` checks the referral, the
community comes from ``access.areas_within`` (a worker: only their community; a
clerk: their street's), and on save the models' ``check_consistency`` (registered
once, areas) runs on every flush as it does for the panel.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import access
from app.extensions import db
from app.models import Area, HardshipCategory, Household, Member, Organisation, User
from app.models.household import KNOWN_UNREGISTERED, KnownUnregistered
from app.services.imports.columns import HOUSEHOLD_COLUMNS, Column
from app.services.imports.engine import Row, required_message
from app.validation import InvalidValue, mask_id_number

COLUMN = {c.key: c for c in HOUSEHOLD_COLUMNS}
HOUSEHOLD_KEYS = [c.key for c in HOUSEHOLD_COLUMNS if not c.member and c.key != "id"]
MEMBER_KEYS = [c.key for c in HOUSEHOLD_COLUMNS if c.member]
#: household fields a row may set (status and the areas are handled on their own)
HOUSEHOLD_FIELDS = (
    "head_name",
    "head_phone",
    "address",
    "disability_type",
    "disability_grade",
    "monthly_income",
    "existing_support",
    "intake_channel",
    "intake_date",
    "referrer_person",
    "notes",
)
MEMBER_FIELDS = {
    "member_name": "name",
    "member_relation": "relation",
    "member_health": "health",
    "member_disability_type": "disability_type",
    "member_disability_grade": "disability_grade",
    "member_employment": "employment",
}
#: the template's example row (a valid but reserved number); skipped on import
EXAMPLE_ID_NUMBER = "340102190001010013"
#: households per flush (measured on 20,000 rows: 100 beats 50, 200, 400 and 800)
CHUNK = 100


def lookups_for(user) -> dict:
    """Choice tables that depend on the database: categories, organisations."""
    categories = {}
    for category in db.session.scalars(
        select(HardshipCategory).where(HardshipCategory.is_active.is_(True))
    ):
        categories[category.name.lower()] = category.id
        categories[category.code.lower()] = category.id
    return {"categories": categories}


class Areas:
    """Communities by what a cell may say (名称, 街道 · 名称), split into those the user
    may import into and the rest of the district."""

    def __init__(self, user):
        self.allowed: dict[str, list[Area]] = defaultdict(list)
        self.allowed_ids = set()
        for area in access.areas_within("community", user):
            self.allowed_ids.add(area.id)
        self.known: dict[str, list[Area]] = defaultdict(list)
        for area in db.session.scalars(
            select(Area).where(Area.level == "community").options(selectinload(Area.parent))
        ):
            names = {area.name, area.full_name, f"{area.parent.name}{area.name}"}
            names |= {area.full_name.replace(" · ", sep) for sep in ("·", "/", "-", " ")}
            for name in names:
                self.known[name].append(area)
                if area.id in self.allowed_ids:
                    self.allowed[name].append(area)
        self.streets = {
            a.name: a for a in db.session.scalars(select(Area).where(Area.level == "street"))
        }

    def community(self, text: str, street_text: str | None):
        """(Area, None) or (None, message)."""
        text = text.strip()
        candidates = self.allowed.get(text, [])
        if street_text:
            street = self.streets.get(street_text.strip())
            candidates = [a for a in candidates if street is not None and a.parent_id == street.id]
            if not candidates and self.allowed.get(text):
                return None, _("This community is not in the street of this row.")
        if len(candidates) == 1:
            return candidates[0], None
        if len(candidates) > 1:
            return None, _("Several communities have this name: write it as 街道 · 社区.")
        if self.known.get(text):
            return None, _("This community is outside your area: you cannot import into it.")
        return None, _("Unknown community: %(name)s.", name=text)


@dataclass
class MemberPlan:
    row: Row
    member_id: int | None
    changes: dict


@dataclass
class HouseholdPlan:
    key: object
    rows: list[Row]
    household_id: int | None = None
    changes: dict = field(default_factory=dict)
    categories: tuple | None = None
    members: list[MemberPlan] = field(default_factory=list)
    head_row: Row | None = None
    failed: bool = False


class HouseholdImport:
    """One file's households: ``classify`` (the dry run) and ``apply`` (the commit)."""

    columns = HOUSEHOLD_COLUMNS
    key_columns = ("head_name", "head_id_number")

    def __init__(self, user, default_community: Area | None):
        self.user = user
        self.default_community = default_community
        self.plans: list[HouseholdPlan] = []

    def lookups(self) -> dict:
        return lookups_for(self.user)

    def community_ids(self, rows: list[Row]) -> set[int]:
        """The communities the file writes into (for the commit's locks)."""
        areas = Areas(self.user)
        ids = {self.default_community.id} if self.default_community is not None else set()
        for row in rows:
            if "community" in row.values:
                area, _message = areas.community(row.values["community"], row.values.get("street"))
                if area is not None:
                    ids.add(area.id)
        return ids

    # -------------------------------------------------------------- classify
    def keep(self, rows: list[Row]) -> list[Row]:
        """The rows to import: all but the template's example row."""
        return [r for r in rows if r.values.get("head_id_number") != EXAMPLE_ID_NUMBER]

    def classify(self, rows: list[Row], index: dict[str, int]) -> None:
        self.index = index
        areas = Areas(self.user)
        organisations = {
            o.name: o.id
            for o in access.readable(Organisation, self.user).with_entities(Organisation)
        }
        groups: dict[object, list[Row]] = {}
        for row in rows:
            groups.setdefault(self._group_key(row), []).append(row)
        heads = {k for k in groups if isinstance(k, str)}
        numbers = set(heads)
        for row in rows:
            if "member_id_number" in row.values:
                numbers.add(row.values["member_id_number"])
        ids = {k[1] for k in groups if isinstance(k, tuple) and k[0] == "id"}
        ids |= {r.values["id"] for r in rows if "id" in r.values}
        registered = self._registrations(numbers)
        households = self._households(
            {v[1] for v in registered.values() if v[0] == "head"}
            | ids
            | {v[2] for v in registered.values() if v[0] == "member"}
        )
        writable = self._writable(set(households))
        seen_members: dict[str, int] = {}
        self.plans = []
        for key, group in groups.items():
            plan = HouseholdPlan(key=key, rows=group)
            self._plan_household(plan, registered, households, writable, areas, organisations)
            self._plan_members(plan, registered, households, writable, heads, seen_members)
            self._classes(plan)
            self.plans.append(plan)

    def _group_key(self, row: Row):
        number = row.values.get("head_id_number")
        if number:
            return number
        if "id" in row.values:
            return ("id", row.values["id"])
        return ("row", row.number)

    def _registrations(self, numbers: set[str]) -> dict[str, tuple]:
        """number → ("head", household id) or ("member", member id, household id), read
        in chunks (a file of 50,000 people is a few hundred queries, not 100,000)."""
        found: dict[str, tuple] = {}
        ordered = sorted(numbers)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            for hid, number in db.session.execute(
                select(Household.id, Household.head_id_number).where(
                    Household.head_id_number.in_(chunk)
                )
            ):
                found[number] = ("head", hid)
            for mid, hid, number in db.session.execute(
                select(Member.id, Member.household_id, Member.id_number).where(
                    Member.id_number.in_(chunk)
                )
            ):
                found.setdefault(number, ("member", mid, hid))
        return found

    def _households(self, ids: set[int]) -> dict[int, Household]:
        found = {}
        ordered = sorted(i for i in ids if isinstance(i, int) and 0 < i < 2**31)
        for start in range(0, len(ordered), 500):
            for household in db.session.scalars(
                select(Household)
                .where(Household.id.in_(ordered[start : start + 500]))
                .options(selectinload(Household.members), selectinload(Household.categories))
            ):
                found[household.id] = household
        return found

    def _writable(self, ids: set[int]) -> set[int]:
        """Households the user may change: the panel's write criterion."""
        found = set()
        ordered = sorted(ids)
        for start in range(0, len(ordered), 500):
            found |= set(
                db.session.scalars(
                    access.writable(Household, self.user)
                    .with_only_columns(Household.id)
                    .where(Household.id.in_(ordered[start : start + 500]))
                )
            )
        return found

    def _elsewhere(self, row: Row, column: Column) -> None:
        row.error(
            column,
            _(
                "This ID number is already registered in the district. Please contact the "
                "district civil-affairs bureau to check it."
            ),
        )

    def _plan_household(self, plan, registered, households, writable, areas, organisations):
        rows = plan.rows
        head = rows[0]
        plan.head_row = head
        id_column = COLUMN["head_id_number"]
        merged: dict = {}
        origin: dict = {}
        for row in rows:
            for key in HOUSEHOLD_KEYS + ["id"]:
                if key not in row.values:
                    continue
                if key in merged and merged[key] != row.values[key]:
                    row.error(
                        COLUMN[key],
                        _("Differs from row %(row)s of the same household.", row=origin[key]),
                    )
                    continue
                merged.setdefault(key, row.values[key])
                origin.setdefault(key, row.number)
        number = merged.get("head_id_number")
        household = None
        if number:
            found = registered.get(number)
            if found and found[0] == "head":
                household = households.get(found[1])
                if found[1] not in writable:
                    self._elsewhere(head, id_column)
                    plan.failed = True
                    return
            elif found and found[0] == "member":
                if found[2] in writable:
                    head.error(
                        id_column,
                        _(
                            "This ID number is already registered as a member of a household "
                            "in your area."
                        ),
                        household_id=found[2],
                    )
                else:
                    self._elsewhere(head, id_column)
                plan.failed = True
                return
        if "id" in merged:
            by_id = households.get(merged["id"])
            if by_id is None or by_id.id not in writable:
                head.error(COLUMN["id"], _("No household with this number in your area."))
                plan.failed = True
                return
            if household is not None and household.id != by_id.id:
                head.error(
                    COLUMN["id"], _("This number and the ID number are of different households.")
                )
                plan.failed = True
                return
            if number is None and "head_id_number" in head.masked:
                if mask_id_number(by_id.head_id_number) != head.raw["head_id_number"]:
                    head.error(id_column, _("This ID number is not the household's."))
                    plan.failed = True
                    return
            household = by_id
        elif number is None and "head_id_number" not in head.errors_keys():
            if "head_id_number" in head.raw:
                pass  # the cell's own error says why
            else:
                head.error(id_column, required_message())
            plan.failed = True
            return
        if household is None and number is None:
            plan.failed = True
            return
        # areas
        community = None
        if "community" in merged:
            community, message = areas.community(merged["community"], merged.get("street"))
            if message:
                row = next(r for r in rows if "community" in r.values)
                row.error(COLUMN["community"], message)
                plan.failed = True
        elif household is None:
            community = self.default_community
            if community is None:
                head.error(COLUMN["community"], required_message())
                plan.failed = True
        elif "street" in merged and household.street and household.street.name != merged["street"]:
            head.error(COLUMN["street"], _("This community is not in the street of this row."))
            plan.failed = True
        # values
        changes = {}
        for key in HOUSEHOLD_FIELDS:
            if key in merged:
                if household is None or getattr(household, key) != merged[key]:
                    changes[key] = merged[key]
        if "referrer_organisation" in merged:
            org_id = organisations.get(merged["referrer_organisation"])
            if org_id is None:
                head.error(
                    COLUMN["referrer_organisation"],
                    _(
                        "No organisation of this name is registered: %(name)s.",
                        name=merged["referrer_organisation"],
                    ),
                )
                plan.failed = True
            elif household is None or household.referrer_organisation_id != org_id:
                changes["referrer_organisation_id"] = org_id
        if community is not None and (household is None or household.community_id != community.id):
            changes["community_id"] = community.id
        if "categories" in merged:
            current = tuple(sorted(c.id for c in household.categories)) if household else ()
            if merged["categories"] != current:
                plan.categories = merged["categories"]
        if "status" in merged:
            current = household.status if household is not None else "registered"
            if merged["status"] != current:
                head.error(
                    COLUMN["status"],
                    _("A case's status changes only on its own page, not by an import."),
                )
                plan.failed = True
        if household is None:
            for key in ("head_name", "address", "intake_channel"):
                if key not in merged and key not in head.errors_keys():
                    head.error(COLUMN[key], required_message())
                    plan.failed = True
            changes["head_id_number"] = number
        else:
            plan.household_id = household.id
            head.note(
                id_column,
                _("Already registered: the household will be updated.")
                if changes or plan.categories is not None
                else _("Already registered: nothing changes."),
                household_id=household.id,
            )
        # the model's own referral rule, on the values the household will have
        probe = Household(
            intake_channel=changes.get(
                "intake_channel", getattr(household, "intake_channel", None)
            ),
            referrer_person=changes.get(
                "referrer_person", getattr(household, "referrer_person", None)
            ),
            referrer_organisation_id=changes.get(
                "referrer_organisation_id", getattr(household, "referrer_organisation_id", None)
            ),
        )
        try:
            probe.check_intake()
        except InvalidValue as exc:
            head.error(COLUMN["intake_channel"], exc.message)
            plan.failed = True
        if any(r.errors for r in rows if r is head) or plan.failed:
            plan.failed = True
        plan.changes = changes

    def _plan_members(self, plan, registered, households, writable, heads, seen):
        household = households.get(plan.household_id) if plan.household_id else None
        by_name = {}
        if household is not None:
            by_name = {m.name: m for m in household.members if not m.id_number}
        existing_ids = {m.id: m for m in household.members} if household is not None else {}
        id_column = COLUMN["member_id_number"]
        for row in plan.rows:
            if not any(k in row.values or k in row.raw for k in MEMBER_KEYS):
                continue
            number = row.values.get("member_id_number")
            member = None
            if number:
                first = seen.get(number)
                if first is not None:
                    row.error(id_column, _("This ID number is also on row %(row)s.", row=first))
                    continue
                seen[number] = row.number
                if number in heads or number == plan.key:
                    row.error(
                        id_column, _("This ID number is also the head of a household in this file.")
                    )
                    continue
                found = registered.get(number)
                if (
                    found
                    and found[0] == "member"
                    and household is not None
                    and found[2] == household.id
                ):
                    member = existing_ids.get(found[1])
                elif found:
                    hid = found[1] if found[0] == "head" else found[2]
                    if hid in writable:
                        row.error(
                            id_column,
                            _(
                                "This ID number is already registered in another household of your area."
                            ),
                            household_id=hid,
                        )
                    else:
                        self._elsewhere(row, id_column)
                    continue
            elif "member_name" in row.values:
                member = by_name.get(row.values["member_name"])
            changes = {}
            for key, field_name in MEMBER_FIELDS.items():
                if key in row.values and (
                    member is None or getattr(member, field_name) != row.values[key]
                ):
                    changes[field_name] = row.values[key]
            if member is None:
                if number:
                    changes["id_number"] = number
                for key in ("member_name", "member_relation"):
                    if key not in row.values and key not in row.errors_keys():
                        row.error(COLUMN[key], required_message())
            plan.members.append(MemberPlan(row, member.id if member else None, changes))

    def _classes(self, plan: HouseholdPlan) -> None:
        head = plan.head_row
        if head.errors:  # the household's own row: nothing of the household is written
            plan.failed = True
        for row in plan.rows:
            if plan.failed and row is not head and not row.errors:
                row.error(
                    None,
                    _("The household of this row has an error on row %(row)s.", row=head.number),
                )
        if plan.failed:
            return
        members = {m.row.number: m for m in plan.members}
        household_new = plan.household_id is None
        household_changed = bool(plan.changes) or plan.categories is not None
        for i, row in enumerate(plan.rows):
            if row.errors:
                continue
            member = members.get(row.number)
            creates = (household_new and i == 0) or (
                member is not None and member.member_id is None
            )
            changes = (household_changed and i == 0) or (member is not None and member.changes)
            row.cls = "new" if creates else "update" if changes else "unchanged"

    # ----------------------------------------------------------------- apply
    def apply(self, *, valid_only: bool, progress) -> dict:
        """Writes the plans (flushes, in chunks; the caller commits). Returns what was
        done: {"new": rows, "update": rows, "unchanged": rows, "skipped": rows}.

        Each chunk of ``CHUNK`` households is built without autoflush (the area
        checks would otherwise flush the chunk once per household) and written by one
        flush, before which the chunk's ID numbers are looked up in one set-based
        query per table (``_unregistered``): the models' registered-once check on the
        flush then finds those nowhere without two queries per person. Every model
        rule still runs on the flush; the audit rows are written per record by it."""
        done = {"new": 0, "update": 0, "unchanged": 0, "skipped": 0, "households": 0}
        plans = self.plans
        rows_done = 0
        for start in range(0, len(plans), CHUNK):
            chunk = plans[start : start + CHUNK]
            numbers: set[str] = set()
            with db.session.no_autoflush:
                existing = self._households({p.household_id for p in chunk if p.household_id})
                categories = {c.id: c for c in db.session.scalars(select(HardshipCategory))}
                # every area in the session's identity map, so that resolving a
                # household's community and street costs no query (held until the flush)
                areas = {a.id: a for a in db.session.scalars(select(Area))}
                for plan in chunk:
                    rows_done += len(plan.rows)
                    if plan.failed:
                        done["skipped"] += len(plan.rows)
                        continue
                    household = existing.get(plan.household_id) if plan.household_id else None
                    if household is None:
                        household = Household(**plan.changes)
                        db.session.add(household)
                    else:
                        for key, value in plan.changes.items():
                            setattr(household, key, value)
                    if "community_id" in plan.changes:
                        household.community = areas.get(plan.changes["community_id"])
                    if "head_id_number" in plan.changes:
                        numbers.add(plan.changes["head_id_number"])
                    if plan.categories is not None:
                        household.categories = [categories[i] for i in plan.categories]
                    members = {m.id: m for m in household.members}
                    for member_plan in plan.members:
                        if member_plan.row.errors:
                            continue
                        if member_plan.member_id is None:
                            household.members.append(Member(**member_plan.changes))
                        else:
                            member = members[member_plan.member_id]
                            for key, value in member_plan.changes.items():
                                setattr(member, key, value)
                        if member_plan.changes.get("id_number"):
                            numbers.add(member_plan.changes["id_number"])
                    if not access.can_write_row(household, self.user):
                        raise InvalidValue(
                            _("This community is outside your area: you cannot import into it.")
                        )
                    done["households"] += 1
                    for row in plan.rows:
                        if row.errors:
                            done["skipped"] += 1
                        else:
                            done[row.cls] += 1
            db.session.info[KNOWN_UNREGISTERED] = KnownUnregistered(_unregistered(numbers))
            try:
                db.session.flush()
            finally:
                db.session.info.pop(KNOWN_UNREGISTERED, None)
            del areas
            # the identity map would hold every row of a 50,000-row file: let it go
            user_id = self.user.id
            db.session.expunge_all()
            self.user = db.session.get(User, user_id)
            progress(rows_done)
        return done


#: ID numbers per IN (...) of ``_unregistered``: far below any backend's parameter limit
LOOKUP_CHUNK = 500


def _unregistered(numbers: set[str]) -> frozenset[str]:
    """The ``numbers`` saved neither as a head nor as a member, read in one query per
    table and ``LOOKUP_CHUNK`` numbers (without autoflush: nothing pending counts)."""
    free = set(numbers)
    ordered = sorted(numbers)
    with db.session.no_autoflush:
        for start in range(0, len(ordered), LOOKUP_CHUNK):
            part = ordered[start : start + LOOKUP_CHUNK]
            free.difference_update(
                db.session.scalars(
                    select(Household.head_id_number).where(Household.head_id_number.in_(part))
                )
            )
            free.difference_update(
                db.session.scalars(select(Member.id_number).where(Member.id_number.in_(part)))
            )
    return frozenset(free)
