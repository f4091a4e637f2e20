"""Matching needs to resources (需求与资源对接).

Who fits whom:
- *kind of help*: the resource's ``category`` is the need's category, or its ``kind``
  is one that can meet that category (``choices.NEED_CATEGORY_RESOURCE_KINDS``);
- *area*: the resource covers the household's community. With ``served_areas`` set,
  one of them is the community, its street or the district; without, the resource's
  own area is used (its community, else its street, else the whole district);
- *now*: status ``available`` and ``available_from <= today <= available_until``
  (no end date: open-ended);
- *capacity*: ``quantity`` is the capacity (none = unlimited); active matches use
  ``used_quantity`` of it, and something must be left.

Capacity is taken with one conditional UPDATE, so two workers taking the last unit at
the same moment cannot both succeed (the database re-checks the condition on the row
it locked); the CHECK constraint ``ck_resources_capacity`` is the backstop.

Resource status follows capacity: taking the last of it marks the resource
``exhausted`` (用完) in the same statement; releasing a match of an exhausted resource
makes it ``available`` again. A ``withdrawn`` resource stays withdrawn.

Need status: accepting a match moves an ``open`` need to ``matched`` (a need already
matched or in progress may take further resources; a met or withdrawn need takes
none). Releasing the last active match of a ``matched`` or ``in_progress`` need puts
it back to ``open``.

Services flush; the caller commits (one transaction per user action: the matching
routes, the demo seed), as ``app/services/transaction.py`` describes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, false, func, or_, select, update
from sqlalchemy.orm import selectinload

from app import access
from app.extensions import db
from app.models import Area, Household, Need, NeedMatch, Resource, resource_areas
from app.models import choices as c
from app.models.base import utcnow
from app.validation import InvalidValue, normalize_money

#: a resource ending within this many days is "expiring soon"
EXPIRING_DAYS = 30
#: needs still waiting for help (matching may add a resource to these)
MATCHABLE_NEED_STATUSES = ("open", "matched", "in_progress")
URGENCY_SCORE = {"critical": 30, "high": 20, "normal": 10, "low": 0}


class MatchRefused(InvalidValue):
    """A match that cannot be made or released; the message says why."""


@dataclass
class Suggestion:
    """A resource for a need (or a need for a resource), its score and the reasons."""

    item: object
    score: int
    reasons: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ criteria
def kinds_for(category: str) -> tuple[str, ...]:
    return c.NEED_CATEGORY_RESOURCE_KINDS.get(category, ())


def fits_category(category: str):
    """SQL: resources that can meet a need of ``category``."""
    kinds = kinds_for(category)
    return or_(Resource.category == category, Resource.kind.in_(kinds) if kinds else false())


def available_on(today: dt.date):
    """SQL: resources that can be given out on ``today`` and have capacity left."""
    return and_(
        Resource.status == "available",
        Resource.available_from <= today,
        or_(Resource.available_until.is_(None), Resource.available_until >= today),
        or_(Resource.quantity.is_(None), Resource.quantity - Resource.used_quantity > 0),
    )


def _has_served_areas():
    return exists().where(resource_areas.c.resource_id == Resource.id)


def covers_community(community_id: int | None, street_id: int | None):
    """SQL: resources whose area covers a household of this community."""
    served = (
        select(resource_areas.c.resource_id)
        .join(Area, Area.id == resource_areas.c.area_id)
        .where(
            or_(
                Area.id.in_([a for a in (community_id, street_id) if a is not None]),
                Area.level == "district",
            )
        )
    )
    own_area = or_(
        Resource.community_id == community_id,
        and_(
            Resource.community_id.is_(None),
            or_(Resource.street_id.is_(None), Resource.street_id == street_id),
        ),
    )
    return or_(Resource.id.in_(served), and_(~_has_served_areas(), own_area))


def _coverage_level(resource: Resource, community_id, street_id) -> str | None:
    """How narrowly the resource covers the community: community / street / district."""
    if resource.served_areas:
        ids = {a.id for a in resource.served_areas}
        if community_id in ids:
            return "community"
        if street_id in ids:
            return "street"
        if any(a.level == "district" for a in resource.served_areas):
            return "district"
        return None
    if resource.community_id is not None:
        return "community" if resource.community_id == community_id else None
    if resource.street_id is not None:
        return "street" if resource.street_id == street_id else None
    return "district"


def _covered_need_criterion(resource: Resource):
    """SQL on Need: needs whose household the resource's area covers."""
    if resource.served_areas:
        if any(a.level == "district" for a in resource.served_areas):
            return Need.id.is_not(None)
        ids = [a.id for a in resource.served_areas]
        return or_(Need.community_id.in_(ids), Need.street_id.in_(ids))
    if resource.community_id is not None:
        return Need.community_id == resource.community_id
    if resource.street_id is not None:
        return Need.street_id == resource.street_id
    return Need.id.is_not(None)


def _in_use_needs():
    """SQL on Need: needs still in use, of households still in use (archiving a
    household archives its needs; the household's own mark is checked too)."""
    return (
        access.active_criterion(Need),
        Need.household_id.in_(select(Household.id).where(access.active_criterion(Household))),
    )


def _is_archived(record) -> bool:
    """Is ``record`` (or, for a need, its household) archived?"""
    if record.is_archived:
        return True
    household = getattr(record, "household", None)
    return household is not None and household.is_archived


# -------------------------------------------------------------------- scoring
def _describe_quantity(resource: Resource) -> str:
    remaining = resource.remaining_quantity
    if remaining is None:
        return _("No quantity limit")
    amount = f"{remaining.normalize():f}"
    return _("%(n)s %(unit)s left", n=amount, unit=resource.unit or _("units"))


COVERAGE_POINTS = {"community": 20, "street": 12, "district": 5}


def _score(need: Need, resource: Resource, today: dt.date) -> Suggestion | None:
    """Score and reasons for this pair, or None when the resource cannot serve it."""
    score, reasons = 0, []
    kinds = kinds_for(need.category)
    if resource.category == need.category:
        score += 50
        reasons.append(_("Same category"))
    elif resource.kind in kinds:
        score += 30 - 5 * kinds.index(resource.kind)
        reasons.append(
            _(
                "%(kind)s can help with %(category)s",
                kind=c.label(c.RESOURCE_KINDS, resource.kind),
                category=c.label(c.NEED_CATEGORIES, need.category),
            )
        )
    else:
        return None
    level = _coverage_level(resource, need.community_id, need.street_id)
    if level is None:
        return None
    score += COVERAGE_POINTS[level]
    reasons.append(
        {
            "community": _("Serves this community"),
            "street": _("Serves this street"),
            "district": _("Serves the whole district"),
        }[level]
    )
    reasons.append(_describe_quantity(resource))
    if resource.available_until is not None:
        days_left = (resource.available_until - today).days
        if days_left <= EXPIRING_DAYS:
            score += 5
            reasons.append(
                _("Expiring soon (%(date)s)", date=f"{resource.available_until:%Y-%m-%d}")
            )
    return Suggestion(resource, score, reasons)


# ---------------------------------------------------------------- suggestions
def suggest_resources(need: Need, user, today: dt.date | None = None, limit: int = 10):
    """Resources the user may read that could meet ``need`` now, best first.

    Resources already actively matched to the need are left out.
    """
    today = today or dt.date.today()
    if need.status not in MATCHABLE_NEED_STATUSES or _is_archived(need):
        return []
    already = select(NeedMatch.resource_id).where(
        NeedMatch.need_id == need.id, NeedMatch.status == "active"
    )
    stmt = (
        access.visible(Resource, user)
        .where(
            fits_category(need.category),
            covers_community(need.community_id, need.street_id),
            available_on(today),
            access.active_criterion(Resource),
            Resource.id.not_in(already),
        )
        .options(selectinload(Resource.served_areas), selectinload(Resource.provider_organisation))
    )
    suggestions = [s for r in db.session.scalars(stmt) if (s := _score(need, r, today))]
    suggestions.sort(key=lambda s: (-s.score, s.item.id))
    return suggestions[:limit]


def suggest_needs(resource: Resource, user, today: dt.date | None = None, limit: int = 50):
    """Open needs in the user's scope that ``resource`` could serve, most urgent and
    best-fitting first. Empty when the resource cannot be given out now."""
    today = today or dt.date.today()
    available = db.session.scalar(
        select(func.count())
        .select_from(Resource)
        .where(Resource.id == resource.id, available_on(today), access.active_criterion(Resource))
    )
    if not available:
        return []
    kinds = {cat for cat, ks in c.NEED_CATEGORY_RESOURCE_KINDS.items() if resource.kind in ks}
    if resource.category:
        kinds.add(resource.category)
    already = select(NeedMatch.need_id).where(
        NeedMatch.resource_id == resource.id, NeedMatch.status == "active"
    )
    stmt = (
        access.visible(Need, user)
        .where(
            Need.status == "open",
            Need.category.in_(sorted(kinds)),
            _covered_need_criterion(resource),
            *_in_use_needs(),
            Need.id.not_in(already),
        )
        .options(selectinload(Need.household).selectinload(Household.community))
    )
    suggestions = []
    for need in db.session.scalars(stmt):
        suggestion = _score(need, resource, today)
        if suggestion is None:
            continue
        suggestion.item = need
        suggestion.score += URGENCY_SCORE.get(need.urgency, 0)
        suggestion.reasons.insert(0, _("Urgency: %(u)s", u=c.label(c.URGENCIES, need.urgency)))
        suggestions.append(suggestion)
    suggestions.sort(key=lambda s: (-s.score, s.item.identified_on, s.item.id))
    return suggestions[:limit]


# ------------------------------------------------------------ accept / release
def _quantity(value) -> Decimal:
    try:
        q = normalize_money(value, allow_none=False)
    except InvalidValue:
        raise MatchRefused(_l("The quantity must be a positive number.")) from None
    if q is None or q <= 0:
        raise MatchRefused(_l("The quantity must be a positive number."))
    return q


def _take_capacity(resource_id: int, q: Decimal) -> None:
    """Take ``q`` of the resource's capacity, or refuse. One conditional UPDATE: the
    database re-checks the condition on the locked row, so concurrent takers of the
    last unit cannot both pass."""
    new_used = Resource.used_quantity + q
    result = db.session.execute(
        update(Resource)
        .where(
            Resource.id == resource_id,
            Resource.status == "available",
            or_(Resource.quantity.is_(None), new_used <= Resource.quantity),
        )
        .values(
            used_quantity=new_used,
            status=case(
                (and_(Resource.quantity.is_not(None), new_used >= Resource.quantity), "exhausted"),
                else_=Resource.status,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise MatchRefused(
            _l("This resource is no longer available or has not enough left. Nothing was saved.")
        )


def _return_capacity(resource_id: int, q: Decimal) -> None:
    db.session.execute(
        update(Resource)
        .where(Resource.id == resource_id)
        .values(
            used_quantity=Resource.used_quantity - q,
            status=case((Resource.status == "exhausted", "available"), else_=Resource.status),
        )
        .execution_options(synchronize_session=False)
    )


def record_match(
    need: Need,
    resource: Resource,
    *,
    quantity=1,
    reason: str | None = None,
    today: dt.date | None = None,
) -> NeedMatch:
    """Link ``need`` to ``resource`` and take capacity. No access check: views call
    ``accept_match``; the demo seed and the CLI call this."""
    today = today or dt.date.today()
    q = _quantity(quantity)
    if _is_archived(need) or _is_archived(resource):
        raise MatchRefused(_l("Archived needs and resources are not matched."))
    if need.status not in MATCHABLE_NEED_STATUSES:
        raise MatchRefused(_l("This need is met or withdrawn; it takes no more resources."))
    if resource.available_from > today or (
        resource.available_until is not None and resource.available_until < today
    ):
        raise MatchRefused(_l("This resource cannot be given out on this date."))
    existing = db.session.scalar(
        select(NeedMatch).where(NeedMatch.need_id == need.id, NeedMatch.resource_id == resource.id)
    )
    if existing is not None and existing.status == "active":
        raise MatchRefused(_l("This need is already matched to this resource."))
    _take_capacity(resource.id, q)
    db.session.expire(resource, ["used_quantity", "status"])
    match = existing or NeedMatch(need=need, resource=resource)
    match.household_id = need.household_id
    match.quantity = q
    match.status = "active"
    match.released_at = None
    match.reason = (reason or "").strip() or None
    db.session.add(match)
    if need.status == "open":
        need.status = "matched"
    db.session.flush()
    return match


def accept_match(need: Need, resource: Resource, *, user, quantity=1, reason=None, today=None):
    """A worker accepts a suggestion, or picks any resource they may read, for a need
    they may change. Raises ``MatchRefused`` (nothing changed) or returns the match."""
    if not access.can_write_row(need, user) or not access.may_write(NeedMatch, user):
        raise MatchRefused(_l("You can only match needs within your own area."))
    readable = db.session.scalar(
        access.visible(Resource, user, select(Resource.id)).where(Resource.id == resource.id)
    )
    if readable is None:
        raise MatchRefused(_l("This resource is not within your area."))
    return record_match(need, resource, quantity=quantity, reason=reason, today=today)


def release_match(match: NeedMatch, *, user, note: str) -> NeedMatch:
    """End an active match: its capacity goes back to the resource, and the need is
    open again unless another active match still serves it."""
    if not access.can_write_row(match, user):
        raise MatchRefused(_l("You can only release matches within your own area."))
    note = (note or "").strip()
    if not note:
        raise MatchRefused(_l("Say why the match is released."))
    if match.status != "active":
        raise MatchRefused(_l("This match is already released."))
    _return_capacity(match.resource_id, match.quantity)
    if match.resource is not None:
        db.session.expire(match.resource, ["used_quantity", "status"])
    match.status = "released"
    match.released_at = utcnow()
    released = _("Released: %(note)s", note=note)
    match.reason = f"{match.reason}\n{released}" if match.reason else released
    need = match.need
    others = db.session.scalar(
        select(func.count())
        .select_from(NeedMatch)
        .where(NeedMatch.need_id == need.id, NeedMatch.status == "active", NeedMatch.id != match.id)
    )
    if not others and need.status in ("matched", "in_progress"):
        need.status = "open"
    db.session.flush()
    return match


# ------------------------------------------------------------------- report
def unmatched_needs_table(user):
    """Open needs counted per area × dimension, inside the user's scope.

    Rows are streets for a district-wide view; communities when the view covers one
    street (a clerk, a worker, or a district user narrowed with the switcher).
    Returns (rows, by_street) where rows are (area, {dimension: n}, total)."""
    scope = access.scope_of(user)
    by_street = scope.street_id is None
    column = Need.street_id if by_street else Need.community_id
    stmt = (
        access.visible(Need, user, select(column, Need.dimension, func.count()).select_from(Need))
        .where(Need.status == "open", *_in_use_needs())
        .group_by(column, Need.dimension)
    )
    counts: dict[int | None, dict[str, int]] = {}
    for area_id, dimension, n in db.session.execute(stmt):
        counts.setdefault(area_id, {})[dimension] = n
    if by_street:
        areas = list(db.session.scalars(select(Area).where(Area.level == "street")))
    elif scope.community_id is not None:
        areas = [db.session.get(Area, scope.community_id)]
    else:
        areas = list(
            db.session.scalars(
                select(Area).where(Area.level == "community", Area.parent_id == scope.street_id)
            )
        )
    areas.sort(key=lambda a: a.name)
    rows = []
    for area in areas:
        cells = counts.get(area.id, {})
        rows.append((area, cells, sum(cells.values())))
    return rows, by_street


def check_capacity_change(resource: Resource) -> None:
    """A resource edited by staff: its capacity cannot drop below what active matches
    use, and ``available`` / ``exhausted`` follow what is left."""
    used = Decimal(str(resource.used_quantity or 0))
    if resource.quantity is not None and resource.quantity < used:
        raise MatchRefused(
            _l(
                "Active matches already use %(used)s; the quantity cannot be less. "
                "Release matches first.",
                used=f"{used.normalize():f}",
            )
        )
    if resource.status in ("available", "exhausted"):
        left = resource.remaining_quantity
        resource.status = "exhausted" if left is not None and left <= 0 else "available"
