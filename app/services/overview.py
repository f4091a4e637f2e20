"""Counts for the landing page, always inside the user's scope: a fixed handful of
statements whatever the district's size; totals above ``COUNT_ESTIMATE_ABOVE`` are the
planner's estimates, shown as 约 N (``services/counting.py``)."""

from sqlalchemy import func, select

from app import access
from app.extensions import db
from app.models import Household, Need, Project
from app.models import choices as c
from app.services import counting


def _rows(model, user, *where):
    return access.visible(model, user, select(model.id)).where(
        access.active_criterion(model), *where
    )


def _count(model, user, *where) -> int:
    return counting.count_of(_rows(model, user, *where))


def _open_needs_by_dimension(user, open_needs: int) -> list[tuple[str, int]]:
    """Open needs per dimension: one GROUP BY, or (when the total was estimated) the
    planner's estimate of each."""
    dimensions = c.values(c.NEED_DIMENSIONS)
    if isinstance(open_needs, counting.EstimatedCount):
        counts = {
            d: _count(Need, user, Need.status == "open", Need.dimension == d) for d in dimensions
        }
    else:
        stmt = access.visible(
            Need,
            user,
            select(Need.dimension, func.count())
            .where(Need.status == "open", access.active_criterion(Need))
            .group_by(Need.dimension),
        )
        counts = dict(db.session.execute(stmt).all())
    return [(c.label(c.NEED_DIMENSIONS, d), counts.get(d, 0)) for d in dimensions]


def landing_counts(user) -> dict:
    """What matters to this user: households, open needs, projects by status."""
    projects = dict.fromkeys(c.values(c.PROJECT_STATUSES), 0)
    stmt = access.visible(
        Project,
        user,
        select(Project.status, func.count())
        .where(access.active_criterion(Project))
        .group_by(Project.status),
    )
    for status, count in db.session.execute(stmt):
        projects[status] = count
    result = {"projects": [(c.label(c.PROJECT_STATUSES, s), s, n) for s, n in projects.items()]}
    if access.may_read(Household, user):
        result["households"] = _count(Household, user)
        result["households_active"] = _count(Household, user, Household.status != "closed")
        result["open_needs"] = _count(Need, user, Need.status == "open")
        result["needs_by_dimension"] = _open_needs_by_dimension(user, result["open_needs"])
        from app.services.todo import todo_summary

        result["todo"] = todo_summary(user)
    return result
