"""Demo pledges: the sponsors of claimed projects and pledges in every status on the
open ones, made through ``app/services/sponsorship.py`` where the rules allow it, so
``Project.pledged_total`` is always the sum of pending and approved pledges.

Idempotent: does nothing once any pledge exists.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Pledge, Project, User
from app.services import sponsorship

DECIDED_AT = dt.datetime(2026, 3, 10, 2, 0)


def _part(project: Project, fraction: str) -> Decimal:
    return (project.budget * Decimal(fraction)).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def seed_pledges() -> int:
    """Create the demo pledges; returns how many were made."""
    if db.session.scalar(select(Pledge.id).limit(1)) is not None:
        return 0
    admin, sponsor, sponsor2 = _user("admin"), _user("sponsor"), _user("sponsor2")
    if None in (admin, sponsor, sponsor2):
        return 0

    # Projects already claimed, under way or completed: their named sponsors' approved
    # pledges cover the budget (history from before this tool, so written directly).
    taken = db.session.scalars(
        select(Project)
        .where(Project.status.in_(("claimed", "in_progress", "completed")))
        .order_by(Project.id)
    ).all()
    made = 0
    for project in taken:
        if not project.sponsors:
            continue
        share = (project.budget / len(project.sponsors)).quantize(Decimal("0.01"))
        for organisation in project.sponsors:
            db.session.add(
                Pledge(
                    project=project,
                    organisation=organisation,
                    kind="money",
                    amount_yuan=share,
                    status="approved",
                    pledged_at=DECIDED_AT - dt.timedelta(days=20),
                    decided_at=DECIDED_AT,
                    decided_by_id=admin.id,
                    decision_note="已核实认领意向，资金由基金会代收",
                )
            )
            made += 1
        project.pledged_total = share * len(project.sponsors)
    db.session.commit()

    # Open projects: pledges in every status, through the service.
    open_projects = db.session.scalars(
        select(Project).where(Project.status == "open").order_by(Project.id)
    ).all()

    def give(project, user, fraction, **kwargs):
        return sponsorship.pledge(
            project,
            organisation=user.organisation,
            user=user,
            amount=_part(project, fraction),
            **kwargs,
        )

    plans = [
        lambda p: (
            give(p, sponsor, "0.3", note="希望年内完成"),
            sponsorship.approve_pledge(
                give(p, sponsor2, "0.2", kind="in_kind", in_kind_description="冬衣和米面油"),
                user=admin,
                note="物资清单已核对",
            ),
        ),
        lambda p: (
            give(p, sponsor2, "0.25"),
            sponsorship.reject_pledge(
                give(p, sponsor, "0.1"), user=admin, note="与已有认领重复，请与街道联系调整金额"
            ),
        ),
        lambda p: (
            sponsorship.withdraw_pledge(give(p, sponsor, "0.15"), user=sponsor),
            sponsorship.approve_pledge(give(p, sponsor2, "0.4"), user=admin),
        ),
        lambda p: (
            sponsorship.approve_pledge(give(p, sponsor, "0.5"), user=admin, note="已核实"),
            sponsorship.mark_received(
                sponsorship.approve_pledge(
                    give(p, sponsor2, "0.1", kind="in_kind", in_kind_description="助行器10台"),
                    user=admin,
                ),
                user=admin,
                received_on=min(dt.date(2026, 4, 1), dt.date.today()),
            ),
        ),
    ]
    for project, plan in zip(open_projects, plans, strict=False):
        made += len(plan(project))
    return made
