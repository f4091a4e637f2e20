"""Counts for the landing page, always inside the user's scope."""

from sqlalchemy import func, select

from app import access
from app.extensions import db
from app.models import Household, Need, Project
from app.models import choices as c


def _count(model, user, *where) -> int:
    stmt = access.visible(model, user, select(func.count()).select_from(model)).where(
        access.active_criterion(model), *where
    )
    return db.session.scalar(stmt) or 0


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
        result["needs_by_dimension"] = [
            (
                c.label(c.NEED_DIMENSIONS, d),
                _count(Need, user, Need.status == "open", Need.dimension == d),
            )
            for d in c.values(c.NEED_DIMENSIONS)
        ]
        from app.services.todo import todo_summary

        result["todo"] = todo_summary(user)
    return result
