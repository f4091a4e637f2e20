"""Resources (资源清单) from a workbook: one row per resource.

A row with a 编号 updates that resource (when the user may change it); a row without
one matches a resource of the same name and provider in the same area (so that the
same file uploaded twice changes nothing), else adds a new one. The provider is a
registered organisation when one of that name is readable to the user, else a
person. The owning area: the row's community (a community of the user's area) or
street; a street clerk's rows default to their street, a worker's to their
community. The model's ``check_consistency`` and ``access.can_write_row`` decide on
save, as for the form.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import access
from app.extensions import db
from app.models import Area, Organisation, Resource, User
from app.services.imports.columns import RESOURCE_COLUMNS
from app.services.imports.engine import Row, required_message
from app.services.imports.households import Areas
from app.validation import InvalidValue

COLUMN = {c.key: c for c in RESOURCE_COLUMNS}
FIELDS = (
    "name",
    "kind",
    "category",
    "provider_phone",
    "description",
    "quantity",
    "unit",
    "value_yuan",
    "available_from",
    "available_until",
    "status",
)
CHUNK = 500


@dataclass
class ResourcePlan:
    row: Row
    resource_id: int | None
    changes: dict


class ResourceImport:
    columns = RESOURCE_COLUMNS
    key_columns = ("name", "kind")

    def __init__(self, user, default_community: Area | None):
        self.user = user
        self.default_community = default_community
        self.plans: list[ResourcePlan] = []

    def lookups(self) -> dict:
        return {}

    def keep(self, rows: list[Row]) -> list[Row]:
        """The rows to import: all but the template's example row."""
        return [r for r in rows if not str(r.values.get("name", "")).endswith("（示例）")]

    def _owner(self, row: Row, areas: Areas):
        """(street_id, community_id) the row's resource belongs to, or an error."""
        scope = access.scope_of(self.user, narrowed=False)
        if "community" in row.values:
            area, message = areas.community(row.values["community"], row.values.get("street"))
            if message:
                row.error(COLUMN["community"], message)
                return None
            return area.parent_id, area.id
        if self.default_community is not None:
            return self.default_community.parent_id, self.default_community.id
        if "street" in row.values:
            street = areas.streets.get(row.values["street"])
            if street is None:
                row.error(
                    COLUMN["street"], _("Unknown street: %(name)s.", name=row.values["street"])
                )
                return None
            if scope.community_id is not None or (
                scope.street_id is not None and scope.street_id != street.id
            ):
                row.error(
                    COLUMN["street"],
                    _("This street is outside your area: you cannot import into it."),
                )
                return None
            return street.id, None
        if scope.community_id is not None:
            return scope.street_id, scope.community_id
        return scope.street_id, None

    def community_ids(self, rows: list[Row]) -> set[int]:
        areas = Areas(self.user)
        ids = set()
        for row in rows:
            owner = self._owner(Row(row.number, dict(row.values)), areas)
            if owner is not None:
                ids.add(owner[1] or owner[0] or 0)
        return ids

    def classify(self, rows: list[Row], index: dict[str, int]) -> None:
        areas = Areas(self.user)
        organisations = {
            o.name: o.id
            for o in access.readable(Organisation, self.user).with_entities(Organisation)
        }
        ids = sorted({r.values["id"] for r in rows if "id" in r.values})
        by_id: dict[int, Resource] = {}
        for start in range(0, len(ids), 500):
            for resource in db.session.scalars(
                select(Resource).where(Resource.id.in_(ids[start : start + 500]))
            ):
                by_id[resource.id] = resource
        writable_ids = set()
        for start in range(0, len(ids), 500):
            writable_ids |= set(
                db.session.scalars(
                    access.writable(Resource, self.user)
                    .with_only_columns(Resource.id)
                    .where(Resource.id.in_(ids[start : start + 500]))
                )
            )
        natural: dict[tuple, Resource] = {}
        for resource in db.session.scalars(
            access.writable(Resource, self.user)
            .where(access.active_criterion(Resource))
            .options(selectinload(Resource.provider_organisation))
        ):
            key = (resource.name, resource.provider_name, resource.street_id, resource.community_id)
            natural.setdefault(key, resource)
        seen: dict[tuple, int] = {}
        self.plans = []
        for row in rows:
            resource = None
            if "id" in row.values:
                resource = by_id.get(row.values["id"])
                if resource is None or resource.id not in writable_ids:
                    row.error(COLUMN["id"], _("No resource with this number in your area."))
                    continue
            owner = (
                self._owner(row, areas)
                if (resource is None or "community" in row.values or "street" in row.values)
                else (resource.street_id, resource.community_id)
            )
            if owner is None:
                continue
            changes: dict = {}
            provider = row.values.get("provider_name")
            if provider is not None:
                org_id = organisations.get(provider)
                if org_id is not None:
                    changes_provider = {"provider_organisation_id": org_id, "provider_person": None}
                else:
                    changes_provider = {
                        "provider_organisation_id": None,
                        "provider_person": provider[:40],
                    }
                    if len(provider) > 40:
                        row.error(
                            COLUMN["provider_name"],
                            _(
                                "No organisation of this name is registered, and a person's name has at most 40 characters."
                            ),
                        )
                        continue
            else:
                changes_provider = {}
            if resource is None and "name" in row.values and provider is not None:
                key = (row.values["name"], provider, owner[0], owner[1])
                if key in seen:
                    row.error(
                        COLUMN["name"],
                        _("The same resource is also on row %(row)s.", row=seen[key]),
                    )
                    continue
                seen[key] = row.number
                resource = natural.get(key)
            for key in FIELDS:
                if key in row.values and (
                    resource is None or getattr(resource, key) != row.values[key]
                ):
                    changes[key] = row.values[key]
            for key, value in changes_provider.items():
                if resource is None or getattr(resource, key) != value:
                    changes[key] = value
            if resource is None or (resource.street_id, resource.community_id) != owner:
                changes["street_id"], changes["community_id"] = owner
            if resource is None:
                for key in ("name", "kind", "provider_name"):
                    if key not in row.values and key not in row.errors_keys():
                        row.error(COLUMN[key], required_message())
            start = changes.get("available_from", getattr(resource, "available_from", None))
            until = changes.get("available_until", getattr(resource, "available_until", None))
            if start and until and until < start:
                row.error(COLUMN["available_until"], _("The availability ends before it starts."))
            if resource is not None and "quantity" in changes and changes["quantity"] is not None:
                if changes["quantity"] < (resource.used_quantity or 0):
                    row.error(COLUMN["quantity"], _("Less than is already in use by matches."))
            if row.errors:
                continue
            row.cls = "new" if resource is None else "update" if changes else "unchanged"
            if resource is not None:
                row.note(
                    None,
                    _("Already in the list: the resource will be updated.")
                    if changes
                    else _("Already in the list: nothing changes."),
                )
            self.plans.append(ResourcePlan(row, resource.id if resource else None, changes))

    def apply(self, *, valid_only: bool, progress) -> dict:
        done = {"new": 0, "update": 0, "unchanged": 0, "skipped": 0, "resources": 0}
        user_id = self.user.id
        for start in range(0, len(self.plans), CHUNK):
            chunk = self.plans[start : start + CHUNK]
            ids = [p.resource_id for p in chunk if p.resource_id]
            existing = {
                r.id: r for r in db.session.scalars(select(Resource).where(Resource.id.in_(ids)))
            }
            for plan in chunk:
                if plan.resource_id is None:
                    resource = Resource(**plan.changes)
                    db.session.add(resource)
                else:
                    resource = existing[plan.resource_id]
                    for key, value in plan.changes.items():
                        setattr(resource, key, value)
                if plan.changes.get("provider_organisation_id"):
                    # the model's provider rule reads the relationship
                    resource.provider_organisation = db.session.get(
                        Organisation, plan.changes["provider_organisation_id"]
                    )
                if plan.changes and not access.can_write_row(resource, self.user):
                    raise InvalidValue(
                        _("This community is outside your area: you cannot import into it.")
                    )
                done[plan.row.cls] += 1
                done["resources"] += 1
            db.session.flush()
            db.session.expunge_all()
            self.user = db.session.get(User, user_id)
            progress(start + len(chunk))
        return done
