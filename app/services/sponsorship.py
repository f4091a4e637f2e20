"""Sponsorship (认领): sponsors pledge money or in-kind support to projects, street
clerks decide, and each organisation follows what its support achieved.

The rules:
- Only a sponsor user of the pledging organisation pledges, to a project that is open
  to sponsors (status "open" and a summary for sponsors written by staff). Staff do
  not pledge on a sponsor's behalf: a pledge is the sponsor's own commitment, and the
  record says who made it.
- A pending or approved pledge reserves its amount of the project's budget in
  ``Project.pledged_total``. The reservation is ONE conditional UPDATE that adds the
  amount only while the project is open and the total stays within the budget, so two
  sponsors pledging the last yuan at the same moment cannot both succeed (the database
  serialises the two updates of the row; the second re-checks the condition). The
  CHECK constraint ``ck_projects_pledged_total`` is the backstop.
- A clerk of the project's street or the district administrator approves or rejects a
  pending pledge (a note is required to reject). Rejecting and withdrawing give the
  amount back. When approved pledges cover the whole budget the project becomes
  "claimed". Every approved organisation is added to the project's sponsors.
- The pledging sponsor may withdraw a pledge while it is pending. An approved pledge
  is final for the sponsor: backing out of an approved pledge is a conversation with
  the street office, not a button.
- In-kind pledges are marked received by staff (``mark_received``). Money pledges are
  received when the special fund's donation posting links the pledge (the fund service
  sets ``received_on``).
- Every change records who, when and the note; each of ``pledge``,
  ``approve_pledge``, ``reject_pledge``, ``withdraw_pledge`` and ``mark_received`` is
  one transaction (``@transactional`` from ``app/services/transaction.py``: committed
  on success, rolled back on a refusal).

``sponsor_impact(organisation)`` sums up, as amounts and counts only, what an
organisation's support achieved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, union, update

from app import access
from app.extensions import db
from app.models import (
    Household,
    LedgerEntry,
    Organisation,
    Pledge,
    Project,
    ServiceRecord,
    project_beneficiaries,
    project_sponsors,
)
from app.models.base import utcnow
from app.models.choices import PLEDGE_KINDS, SPONSOR_ORGANISATION_KINDS, values
from app.services.transaction import transactional
from app.validation import InvalidValue, check_not_future, normalize_money

CENT = Decimal("0.01")
#: statuses whose amount is reserved in ``Project.pledged_total``
RESERVING = ("pending", "approved")
NOTE_MAX = 1000


def _clean_text(value, *, limit=NOTE_MAX) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidValue(_l("This text is too long (at most %(n)s characters).", n=limit))
    return text or None


def _yuan(amount) -> str:
    return f"{Decimal(amount or 0).quantize(CENT)}"


def _lock_project(project_id: int) -> Project:
    """The project row, locked until the transaction ends (PostgreSQL), fresh from the
    database: every change to a project's pledges goes through this lock or the
    conditional UPDATE, so decisions on one project never interleave."""
    return db.session.scalars(
        select(Project)
        .where(Project.id == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _reload(pledge: Pledge) -> Pledge:
    db.session.refresh(pledge)
    return pledge


def _change_pledged_total(project_id: int, delta: Decimal) -> None:
    db.session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(pledged_total=Project.pledged_total + delta)
        .execution_options(synchronize_session=False)
    )


# ------------------------------------------------------------------ pledging
def check_sponsor(user, organisation: Organisation) -> None:
    """``user`` may pledge for ``organisation``: an active sponsor account of it."""
    if (
        user is None
        or not getattr(user, "is_active", False)
        or user.role != "sponsor"
        or user.organisation_id != organisation.id
    ):
        raise InvalidValue(_l("Only a sponsor account of this organisation can pledge for it."))
    if not organisation.is_active or organisation.kind not in SPONSOR_ORGANISATION_KINDS:
        raise InvalidValue(_l("This organisation cannot sponsor projects."))


@transactional
def pledge(
    project: Project,
    *,
    organisation: Organisation,
    user,
    amount,
    kind: str = "money",
    in_kind_description: str | None = None,
    note: str | None = None,
) -> Pledge:
    """Pledge ``amount`` yuan (money, or the value of in-kind support) to ``project``.

    Reserves the amount with one conditional UPDATE; refuses with the amount still
    open when the pledge would exceed the budget."""
    check_sponsor(user, organisation)
    if kind not in values(PLEDGE_KINDS):
        raise InvalidValue(_l("Choose money or in-kind support."))
    amount = normalize_money(amount, allow_none=False)
    if amount <= 0:
        raise InvalidValue(_l("The amount must be more than zero."))
    description = _clean_text(in_kind_description)
    if kind == "in_kind" and not description:
        raise InvalidValue(_l("Describe the in-kind support you offer."))
    if kind == "money":
        description = None
    note = _clean_text(note)

    reserved = db.session.execute(
        update(Project)
        .where(
            Project.id == project.id,
            access.open_to_sponsors(),  # status = 'open', with a summary for sponsors
            Project.pledged_total + amount <= Project.budget,
        )
        .values(pledged_total=Project.pledged_total + amount)
        .execution_options(synchronize_session=False)
    )
    if reserved.rowcount != 1:
        is_open, budget, total = db.session.execute(
            select(access.open_to_sponsors(), Project.budget, Project.pledged_total).where(
                Project.id == project.id
            )
        ).one()
        if not is_open:
            if project.is_archived:
                raise InvalidValue(_l("This project is archived and takes no more pledges."))
            raise InvalidValue(_l("This project is not open for sponsorship."))
        raise InvalidValue(
            _l(
                "This pledge is more than the project still needs: %(remaining)s yuan "
                "remain open for pledges.",
                remaining=_yuan(budget - total),
            )
        )
    row = Pledge(
        project_id=project.id,
        organisation_id=organisation.id,
        street_id=project.street_id,
        community_id=project.community_id,
        kind=kind,
        amount_yuan=amount,
        in_kind_description=description,
        sponsor_note=note,
        status="pending",
        pledged_at=utcnow(),
        created_by_id=user.id,
        updated_by_id=user.id,
    )
    db.session.add(row)
    db.session.flush()
    db.session.expire(project, ["pledged_total"])
    return row


# ------------------------------------------------------------------ deciding
def _check_decider(pledge_row: Pledge, user) -> None:
    if not access.can_write_row(pledge_row, user):
        raise InvalidValue(
            _l(
                "Only a clerk of the project's street or the district administrator "
                "can decide on this pledge."
            )
        )


def _check_pending(pledge_row: Pledge) -> None:
    if pledge_row.status != "pending":
        raise InvalidValue(_l("This pledge has already been decided or withdrawn."))


def _decide(pledge_row: Pledge, status: str, user, note: str | None) -> None:
    pledge_row.status = status
    pledge_row.decided_at = utcnow()
    pledge_row.decided_by_id = user.id
    pledge_row.decision_note = note
    pledge_row.updated_by_id = user.id


def approved_total(project_id: int) -> Decimal:
    return db.session.scalar(
        select(func.coalesce(func.sum(Pledge.amount_yuan), 0)).where(
            Pledge.project_id == project_id, Pledge.status == "approved"
        )
    ) or Decimal("0")


@transactional
def approve_pledge(pledge_row: Pledge, *, user, note: str | None = None) -> Pledge:
    """Approve a pending pledge; the organisation becomes a sponsor of the project, and
    the project is "claimed" once approved pledges cover its whole budget."""
    _check_decider(pledge_row, user)
    note = _clean_text(note)
    project = _lock_project(pledge_row.project_id)
    _check_pending(_reload(pledge_row))
    if project.status != "open":
        raise InvalidValue(
            _l("This project is no longer open for sponsorship; reject the pledge instead.")
        )
    _decide(pledge_row, "approved", user, note)
    organisation = pledge_row.organisation
    if organisation not in project.sponsors:
        project.sponsors.append(organisation)
    db.session.flush()
    if approved_total(project.id) >= project.budget:
        project.status = "claimed"
        project.updated_by_id = user.id
    db.session.flush()
    return pledge_row


def _release(pledge_row: Pledge, status: str, user, note: str | None) -> None:
    """Give a pending pledge's amount back to the project."""
    _lock_project(pledge_row.project_id)
    _check_pending(_reload(pledge_row))
    _decide(pledge_row, status, user, note)
    db.session.flush()
    _change_pledged_total(pledge_row.project_id, -pledge_row.amount_yuan)
    db.session.expire(pledge_row.project, ["pledged_total"])


@transactional
def reject_pledge(pledge_row: Pledge, *, user, note: str | None) -> Pledge:
    """Reject a pending pledge, saying why; its amount is open for pledges again."""
    _check_decider(pledge_row, user)
    note = _clean_text(note)
    if not note:
        raise InvalidValue(_l("Say why the pledge is rejected."))
    _release(pledge_row, "rejected", user, note)
    return pledge_row


@transactional
def withdraw_pledge(pledge_row: Pledge, *, user, note: str | None = None) -> Pledge:
    """The pledging sponsor takes back a pledge that is still pending."""
    if (
        user is None
        or user.role != "sponsor"
        or not user.is_active
        or user.organisation_id != pledge_row.organisation_id
    ):
        raise InvalidValue(_l("Only the pledging organisation can withdraw its pledge."))
    note = _clean_text(note)
    if pledge_row.status == "approved":
        raise InvalidValue(
            _l("An approved pledge cannot be withdrawn here; please contact the street office.")
        )
    _release(pledge_row, "withdrawn", user, note)
    return pledge_row


@transactional
def mark_received(pledge_row: Pledge, *, user, received_on: dt.date) -> Pledge:
    """Staff confirm that approved in-kind support arrived."""
    _check_decider(pledge_row, user)
    if pledge_row.kind != "in_kind":
        raise InvalidValue(
            _l("Money arrives through the special fund: it is marked received there.")
        )
    if pledge_row.status != "approved":
        raise InvalidValue(_l("Only an approved pledge can be marked received."))
    if pledge_row.received_on is not None:
        raise InvalidValue(_l("This pledge is already marked received."))
    if received_on is None:
        raise InvalidValue(_l("Enter the date the support arrived."))
    check_not_future(received_on)
    pledge_row.received_on = received_on
    pledge_row.updated_by_id = user.id
    db.session.flush()
    return pledge_row


# ------------------------------------------------------------------ impact
@dataclass
class ProjectProgress:
    """One project as its sponsor sees it: whole-project figures (``budget`` …
    ``spent``), and this organisation's own part (``own_*``), of which the cards on
    "our support" are the sums."""

    project: Project
    budget: Decimal
    #: the whole project: pledged (pending and approved), approved, received, spent
    pledged: Decimal
    approved: Decimal
    received: Decimal
    spent: Decimal
    own_approved: Decimal
    #: the organisation's share of what was spent on the project (0 if it only pledged)
    share: Decimal
    #: the organisation's pending and approved pledges, approved ones received, and its
    #: share of the spending, to the cent
    own_pledged: Decimal = Decimal("0")
    own_received: Decimal = Decimal("0")
    own_spent: Decimal = Decimal("0")

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.pledged


@dataclass
class Impact:
    """What an organisation's support achieved: amounts in yuan, reach as counts. The
    amounts are the sums of its rows (``progress``), so the cards and the table agree."""

    pledged: Decimal = Decimal("0")
    approved: Decimal = Decimal("0")
    received: Decimal = Decimal("0")
    spent: Decimal = Decimal("0")
    projects: int = 0
    households_reached: int = 0
    communities_reached: int = 0
    progress: list[ProjectProgress] = field(default_factory=list)


def supported_project_ids(organisation: Organisation):
    """Projects the organisation supports (named sponsor, or an approved pledge): the
    same rule scoping uses for what a sponsor may see."""
    return access.sponsored_project_ids(
        access.Scope(role="sponsor", organisation_id=organisation.id)
    )


def net_disbursed(project_ids) -> dict[int, Decimal]:
    """Per project: special-fund disbursements minus their reversals."""
    out = dict(
        db.session.execute(
            select(LedgerEntry.project_id, func.sum(LedgerEntry.amount_yuan))
            .where(
                LedgerEntry.entry_type == "disbursement",
                LedgerEntry.direction == "out",
                LedgerEntry.project_id.in_(project_ids),
            )
            .group_by(LedgerEntry.project_id)
        ).all()
    )
    reversed_entry = db.aliased(LedgerEntry)
    back = dict(
        db.session.execute(
            select(reversed_entry.project_id, func.sum(LedgerEntry.amount_yuan))
            .join(reversed_entry, LedgerEntry.reverses_id == reversed_entry.id)
            .where(
                LedgerEntry.entry_type == "reversal",
                reversed_entry.entry_type == "disbursement",
                reversed_entry.project_id.in_(project_ids),
            )
            .group_by(reversed_entry.project_id)
        ).all()
    )
    return {
        pid: Decimal(out.get(pid) or 0) - Decimal(back.get(pid) or 0)
        for pid in set(out) | set(back)
    }


def sponsor_impact(organisation: Organisation) -> Impact:
    """Money pledged, approved, received and spent, and households and communities
    reached, for one organisation.

    One row per project it supports or has a pending pledge on; each amount on the
    cards is the sum of the rows' own amounts (``own_*``):

    - pledged: its pending and approved pledges; approved: approved ones; received:
      approved pledges marked received (money through the fund, goods by staff).
    - spent: for each project it supports, what the special fund paid out for the
      project (disbursements minus reversals), times the organisation's share of the
      project's approved pledges (the whole amount when it is the only sponsor; split
      evenly among named sponsors when a project has no approved pledge at all), to
      the cent; nothing for a project it has only a pending pledge on.
    - households reached: beneficiary households of the projects it supports and
      households that received a service recorded against them; communities reached:
      the communities of those households and of its community projects. Counts only.
    """
    project_ids = list(db.session.scalars(supported_project_ids(organisation)))
    supported = set(project_ids)
    impact = Impact(projects=len(project_ids))

    own = {
        pid: (Decimal(pledged or 0), Decimal(approved or 0), Decimal(received or 0))
        for pid, pledged, approved, received in db.session.execute(
            select(
                Pledge.project_id,
                func.sum(Pledge.amount_yuan),
                func.sum(case((Pledge.status == "approved", Pledge.amount_yuan), else_=0)),
                func.sum(
                    case(
                        (
                            (Pledge.status == "approved") & Pledge.received_on.is_not(None),
                            Pledge.amount_yuan,
                        ),
                        else_=0,
                    )
                ),
            )
            .where(Pledge.organisation_id == organisation.id, Pledge.status.in_(RESERVING))
            .group_by(Pledge.project_id)
        )
    }
    listed = supported | set(own)
    if not listed:
        return impact

    per_project = {
        pid: (Decimal(approved or 0), Decimal(received or 0))
        for pid, approved, received in db.session.execute(
            select(
                Pledge.project_id,
                func.sum(Pledge.amount_yuan),
                func.sum(case((Pledge.received_on.is_not(None), Pledge.amount_yuan), else_=0)),
            )
            .where(Pledge.project_id.in_(listed), Pledge.status == "approved")
            .group_by(Pledge.project_id)
        )
    }
    named = dict(
        db.session.execute(
            select(project_sponsors.c.project_id, func.count())
            .where(project_sponsors.c.project_id.in_(listed))
            .group_by(project_sponsors.c.project_id)
        ).all()
    )
    spent_by_project = net_disbursed(listed)
    projects = db.session.scalars(
        select(Project).where(Project.id.in_(listed)).order_by(Project.id.desc())
    ).all()
    zero = Decimal("0")
    for project in projects:
        approved, received = per_project.get(project.id, (zero, zero))
        own_pledged, own_approved, own_received = own.get(project.id, (zero, zero, zero))
        if project.id not in supported:
            share = zero  # a pending pledge only: nothing spent is the organisation's yet
        elif approved > 0:
            share = own_approved / approved
        else:
            share = Decimal(1) / Decimal(named.get(project.id) or 1)
        spent = spent_by_project.get(project.id, zero)
        row = ProjectProgress(
            project=project,
            budget=project.budget,
            pledged=project.pledged_total or zero,
            approved=approved,
            received=received,
            spent=spent,
            own_approved=own_approved,
            share=share,
            own_pledged=own_pledged,
            own_received=own_received,
            own_spent=(spent * share).quantize(CENT, rounding=ROUND_HALF_UP),
        )
        impact.progress.append(row)
        impact.pledged += row.own_pledged
        impact.approved += row.own_approved
        impact.received += row.own_received
        impact.spent += row.own_spent
    if not project_ids:
        return impact

    households = union(
        select(project_beneficiaries.c.household_id.label("hid")).where(
            project_beneficiaries.c.project_id.in_(project_ids)
        ),
        select(ServiceRecord.household_id.label("hid")).where(
            ServiceRecord.project_id.in_(project_ids)
        ),
    ).subquery()
    impact.households_reached = db.session.scalar(select(func.count()).select_from(households))
    communities = union(
        select(Household.community_id.label("cid")).where(
            Household.id.in_(select(households.c.hid))
        ),
        select(Project.community_id.label("cid")).where(
            Project.id.in_(project_ids), Project.community_id.is_not(None)
        ),
    ).subquery()
    impact.communities_reached = db.session.scalar(
        select(func.count()).select_from(communities).where(communities.c.cid.is_not(None))
    )
    return impact
