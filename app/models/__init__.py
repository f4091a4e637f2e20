"""All models, imported here so that Alembic and the app see every table.

Two session hooks keep derived columns honest on every save, whoever saves
(admin, CLI, import, test):
- areas: a record's street is its community's street; members and needs carry
  their household's street and community;
- tracking: created_by / updated_by from the logged-in user.
Then each new or changed object's ``check_consistency()`` (when it has one) runs and
may raise ``InvalidValue``, which aborts the flush with nothing written.
"""

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models.area import Area, AreaOwnedMixin
from app.models.base import TrackedMixin, stamp_tracked
from app.models.household import Household, HouseholdPartMixin, Member, household_categories
from app.models.need import Need
from app.models.organisation import Organisation
from app.models.project import Project, project_beneficiaries, project_sponsors
from app.models.reference import HardshipCategory
from app.models.resource import Resource, resource_areas
from app.models.user import User

__all__ = [
    "Area",
    "AreaOwnedMixin",
    "HardshipCategory",
    "Household",
    "Member",
    "Need",
    "Organisation",
    "Project",
    "Resource",
    "TrackedMixin",
    "User",
    "household_categories",
    "project_beneficiaries",
    "project_sponsors",
    "resource_areas",
]


def _derive_areas(session: Session) -> None:
    changed = list(session.new) + list(session.dirty)
    for obj in changed:
        if isinstance(obj, AreaOwnedMixin):
            _street, community = obj.resolved_areas()
            if community is not None and community.level == "community":
                # set both the relationship and the id: children copy the ids below
                obj.community_id = community.id
                obj.street = community.parent
                obj.street_id = community.parent_id
    for obj in changed:
        if isinstance(obj, Household):
            for child in list(obj.members) + list(obj.needs):
                if child.street_id != obj.street_id or child.community_id != obj.community_id:
                    child.street_id = obj.street_id
                    child.community_id = obj.community_id
        elif isinstance(obj, HouseholdPartMixin):
            household = obj.resolved_household()
            if household is not None:
                obj.street_id = household.street_id
                obj.community_id = household.community_id


@event.listens_for(Session, "before_flush")
def _before_flush(session, flush_context, instances) -> None:
    _derive_areas(session)
    stamp_tracked(session, flush_context, instances)
    for obj in list(session.new) + list(session.dirty):
        check = getattr(obj, "check_consistency", None)
        if check is not None and (obj in session.new or session.is_modified(obj)):
            check()
