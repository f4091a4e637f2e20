"""The to-do list (待办): what needs doing next, for the user who opens it.

Items come from *providers*: plain functions ``provider(user, today) -> list[TodoItem]``
registered in ``PROVIDERS`` (``register_provider``). Casework registers two here:
- home visits due: ``registered`` households with no home-visit assessment since intake
  (or since the case was reopened); overdue after ``VISIT_OVERDUE_DAYS``;
- needs still open after ``NEED_OVERDUE_DAYS``.
Other modules add their own (the special fund: support-plan months without evidence).

Whose items: every provider reads through ``scoping.visible``, so a community worker
sees their community's, a street clerk their street's, district staff everything (or
the street chosen in the switcher). ``only_mine`` keeps the households assigned to the
user. Tests freeze the clock by passing ``today``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.admin import scoping
from app.extensions import db
from app.models import Assessment, CaseTransition, Household, Need
from app.models import choices as c


@dataclass
class TodoItem:
    """One thing to do. ``due_on`` is the last day it is on time."""

    kind: str
    title: str
    due_on: dt.date
    is_overdue: bool
    endpoint: str
    url_args: dict = field(default_factory=dict)
    household_id: int | None = None
    household_label: str = ""
    assigned_worker_id: int | None = None
    #: how many days past ``due_on`` (0 when on time)
    days_overdue: int = 0

    @property
    def url(self) -> str:
        return url_for(self.endpoint, **self.url_args)

    @property
    def overdue_since(self) -> dt.date | None:
        return self.due_on + dt.timedelta(days=1) if self.is_overdue else None

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))


Provider = Callable[..., list[TodoItem]]
#: the providers asked for items, in order
PROVIDERS: list[Provider] = []
#: kind → label shown on the to-do page
KIND_LABELS: dict[str, object] = {}


def register_provider(provider: Provider, *, kind: str | None = None, label=None) -> Provider:
    """Add a provider (idempotent); ``kind``/``label`` name the items it makes."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)
    if kind is not None:
        KIND_LABELS[kind] = label or kind
    return provider


def _days(name: str) -> int:
    return int(current_app.config.get(name, 7 if name == "VISIT_OVERDUE_DAYS" else 30))


def _item_for_household(household: Household, **kwargs) -> TodoItem:
    return TodoItem(
        household_id=household.id,
        household_label=str(household),
        assigned_worker_id=household.assigned_worker_id,
        **kwargs,
    )


def visits_due(user, today: dt.date) -> list[TodoItem]:
    """Registered households awaiting their home visit; overdue after
    ``VISIT_OVERDUE_DAYS`` days from intake (or from reopening)."""
    limit = _days("VISIT_OVERDUE_DAYS")
    stmt = scoping.visible(Household, user).where(Household.status == "registered")
    households = db.session.scalars(stmt.options(selectinload(Household.community))).all()
    if not households:
        return []
    ids = [h.id for h in households]
    reopened = dict(
        db.session.execute(
            select(CaseTransition.household_id, func.max(CaseTransition.occurred_at))
            .where(CaseTransition.household_id.in_(ids), CaseTransition.to_status == "registered")
            .group_by(CaseTransition.household_id)
        ).all()
    )
    last_visit = dict(
        db.session.execute(
            select(Assessment.household_id, func.max(Assessment.visit_date))
            .where(Assessment.household_id.in_(ids))
            .group_by(Assessment.household_id)
        ).all()
    )
    items = []
    for household in households:
        started = household.intake_date
        if household.id in reopened and reopened[household.id].date() > started:
            started = reopened[household.id].date()
        visited = last_visit.get(household.id)
        if visited is not None and visited >= started:
            continue  # visited, only the status is behind
        due = started + dt.timedelta(days=limit)
        late = (today - due).days
        items.append(
            _item_for_household(
                household,
                kind="visit",
                title=_("Home visit due"),
                due_on=due,
                is_overdue=late > 0,
                days_overdue=max(late, 0),
                endpoint="household.story_view",
                url_args={"id": household.id},
            )
        )
    return items


def needs_overdue(user, today: dt.date) -> list[TodoItem]:
    """Needs still open more than ``NEED_OVERDUE_DAYS`` days after they were found."""
    limit = _days("NEED_OVERDUE_DAYS")
    cutoff = today - dt.timedelta(days=limit)
    stmt = (
        scoping.visible(Need, user)
        .where(Need.status == "open", Need.identified_on < cutoff)
        .options(selectinload(Need.household).selectinload(Household.community))
    )
    items = []
    for need in db.session.scalars(stmt):
        due = need.identified_on + dt.timedelta(days=limit)
        items.append(
            _item_for_household(
                need.household,
                kind="need",
                title=_(
                    "Open need: %(dimension)s · %(text)s",
                    dimension=c.label(c.NEED_DIMENSIONS, need.dimension),
                    text=need.description[:40],
                ),
                due_on=due,
                is_overdue=True,
                days_overdue=(today - due).days,
                endpoint="need.details_view",
                url_args={"id": need.id},
            )
        )
    return items


register_provider(visits_due, kind="visit", label=_l("Home visits"))
register_provider(needs_overdue, kind="need", label=_l("Open needs overdue"))


def todo_items(user, today: dt.date | None = None, *, only_mine: bool = False) -> list[TodoItem]:
    """Every provider's items for ``user``: overdue first, then by due date."""
    if not scoping.may_read(Household, user):
        return []
    today = today or dt.date.today()
    items: list[TodoItem] = []
    for provider in PROVIDERS:
        items.extend(provider(user, today))
    if only_mine:
        items = [i for i in items if i.assigned_worker_id == user.id]
    items.sort(key=lambda i: (not i.is_overdue, i.due_on, i.kind, i.household_id or 0))
    return items


def todo_summary(user, today: dt.date | None = None) -> dict:
    """Counts for the landing page."""
    items = todo_items(user, today)
    return {
        "visits_overdue": sum(1 for i in items if i.kind == "visit" and i.is_overdue),
        "needs_overdue": sum(1 for i in items if i.kind == "need" and i.is_overdue),
        "overdue": sum(1 for i in items if i.is_overdue),
        "total": len(items),
    }


# Providers registered by other modules: imported here so that every caller of
# ``todo_items`` sees them, however the app was started.
from app.services import fund as _fund  # noqa: E402, F401
