"""Archive instead of delete (app/services/archive.py): the rule the panel, the CLI and
these tests share."""

import pytest

from app.extensions import db
from app.models import Household, Member, Need, NeedMatch, Organisation, Project, Resource
from app.services import archive
from app.services.archive import ArchiveRefused
from app.services.overview import landing_counts
from app.services.todo import todo_items
from tests.factories import (
    count,
    make_assessment,
    make_household,
    make_match,
    make_member,
    make_need,
    make_organisation,
    make_pledge,
    make_project,
    make_resource,
    make_support_plan,
)

ROLES = ["district_admin", "district_manager", "street_clerk", "community_worker", "sponsor"]


def _visited_household(world):
    household = make_household(world.community)
    make_assessment(household)
    db.session.commit()
    return household


def test_archive_needs_a_reason(world):
    household = _visited_household(world)
    for reason in (None, "", "   "):
        with pytest.raises(ArchiveRefused, match="归档原因"):
            archive.archive(household, world.worker, reason)
    db.session.expire_all()
    assert not household.is_archived


def test_archive_keeps_who_when_and_why_and_takes_members_and_needs_along(world):
    household = _visited_household(world)
    member, need = make_member(household), make_need(household)
    db.session.commit()
    archive.archive(household, world.worker, "  搬离本区，  不再需要帮扶 ")
    db.session.expire_all()
    assert household.is_archived
    assert household.archived_by_id == world.worker.id
    assert household.archive_reason == "搬离本区， 不再需要帮扶"
    assert member.archived_at == need.archived_at == household.archived_at
    # nothing was deleted
    assert count(Household) == 1 and count(Member) == 1 and count(Need) == 1


def test_archive_is_refused_outside_the_users_scope(world):
    household = _visited_household(world)
    for user in (world.far_clerk, world.far_worker, world.manager, world.sponsor):
        with pytest.raises(ArchiveRefused):
            archive.archive(household, user, "错误")
    db.session.expire_all()
    assert not household.is_archived


@pytest.mark.parametrize("role", ROLES)
def test_a_record_with_history_cannot_be_deleted_by_any_role(world, role):
    household = _visited_household(world)
    assert archive.history_of(household) == ["入户走访"]
    with pytest.raises(ArchiveRefused):
        archive.hard_delete(household, world.user(role))
    db.session.expire_all()
    assert count(Household) == 1


def test_history_per_model(world):
    household = make_household(world.community)
    need = make_need(household)
    resource = make_resource()
    organisation = make_organisation()
    project = make_project(world.community)
    member = make_member(household)
    assert not any(
        archive.has_history(r) for r in (household, need, resource, organisation, project, member)
    )
    make_match(need, resource)
    make_pledge(project, organisation)
    db.session.commit()
    # a match is history for the need, its resource and its household (and so its
    # members); a pledge for the project and the organisation
    assert all(
        archive.has_history(r) for r in (household, need, resource, organisation, project, member)
    )


def test_a_record_without_history_is_deleted_by_the_admin_only(world):
    household = make_household(world.community)
    make_member(household)
    db.session.commit()
    for role in ("district_manager", "street_clerk", "community_worker", "sponsor"):
        with pytest.raises(ArchiveRefused):
            archive.hard_delete(household, world.user(role))
    archive.hard_delete(household, world.admin)
    db.session.expire_all()
    assert count(Household) == 0 and count(Member) == 0


def test_restore_is_the_district_admins(world):
    household = _visited_household(world)
    archive.archive(household, world.clerk, "重复登记")
    for role in ("district_manager", "street_clerk", "community_worker", "sponsor"):
        with pytest.raises(ArchiveRefused):
            archive.restore(household, world.user(role))
    archive.restore(household, world.admin)
    db.session.expire_all()
    assert not household.is_archived and household.archive_reason is None


def test_a_member_of_an_archived_household_is_restored_with_it(world):
    household = _visited_household(world)
    member = make_member(household)
    db.session.commit()
    archive.archive(household, world.worker, "搬离")
    with pytest.raises(ArchiveRefused, match="所属家庭"):
        archive.restore(member, world.admin)
    archive.restore(household, world.admin)
    db.session.expire_all()
    assert not member.is_archived


def test_a_member_archived_before_its_household_stays_archived_when_it_is_restored(world):
    household = _visited_household(world)
    member = make_member(household)
    db.session.commit()
    archive.archive(member, world.worker, "已去世")
    archive.archive(household, world.worker, "搬离")
    archive.restore(household, world.admin)
    db.session.expire_all()
    assert member.is_archived and member.archive_reason == "已去世"


def test_a_household_with_an_active_support_plan_is_refused_naming_it(world):
    household = make_household(world.community)
    plan = make_support_plan(household, name="好邻居助餐计划")
    db.session.commit()
    with pytest.raises(ArchiveRefused, match="好邻居助餐计划"):
        archive.archive(household, world.admin, "搬离")
    plan.status = "ended"
    db.session.commit()
    archive.archive(household, world.admin, "搬离")
    assert household.is_archived


def test_a_household_with_a_pending_pledge_on_its_project_is_refused_naming_it(world):
    household = make_household(world.community)
    sponsor = make_organisation(name="恒信建材")
    make_pledge(make_project(beneficiaries=[household], name="王家助学"), sponsor)
    db.session.commit()
    with pytest.raises(ArchiveRefused, match="恒信建材.*王家助学"):
        archive.archive(household, world.worker, "搬离")


def test_archiving_a_need_releases_its_match(world):
    household = make_household(world.community)
    need = make_need(household)
    resource = make_resource(quantity=1)
    make_match(need, resource)
    db.session.commit()
    with pytest.raises(ArchiveRefused, match="有效匹配"):
        archive.archive(resource, world.admin, "停止供应")
    archive.archive(need, world.worker, "需求已不存在")
    db.session.expire_all()
    assert [m.status for m in db.session.scalars(db.select(NeedMatch))] == ["released"]
    assert resource.used_quantity == 0


def test_archived_rows_leave_todo_counts_and_drop_downs(world, app):
    from app import access

    household = _visited_household(world)
    make_need(household, identified_on=household.intake_date)
    organisation = make_organisation(street=world.street)
    db.session.commit()
    with app.test_request_context():
        before = landing_counts(world.clerk)
        assert before["households"] == 1 and before["open_needs"] == 1
        assert todo_items(world.clerk)
    archive.archive(household, world.clerk, "搬离")
    archive.archive(organisation, world.clerk, "已注销")
    with app.test_request_context():
        after = landing_counts(world.clerk)
        assert after["households"] == 0 and after["open_needs"] == 0
        assert [i for i in todo_items(world.clerk) if i.household_id == household.id] == []
        assert organisation not in access.readable(Organisation, world.clerk).all()
        # a record that already names it still offers it
        kept = access.readable(Organisation, world.clerk, keep=[organisation]).all()
        assert organisation in kept


def test_only_the_six_models_are_archived(world):
    assert set(archive.ARCHIVABLE.values()) == {
        Household,
        Member,
        Need,
        Resource,
        Project,
        Organisation,
    }
    with pytest.raises(ArchiveRefused):
        archive.archive(world.clerk, world.admin, "离职")  # users: deactivation


def test_the_cli_follows_the_same_rule(world, app):
    household = _visited_household(world)
    household_id = household.id
    runner = app.test_cli_runner()
    args = ["archive", "household", str(household_id), "--user", world.worker.username]
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "归档原因" in result.output
    result = runner.invoke(args=[*args, "--delete"])
    assert result.exit_code != 0
    result = runner.invoke(args=[*args, "--reason", "搬离本区"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=[*args, "--restore"])
    assert result.exit_code != 0, "restoring is the district admin's"
    admin = ["archive", "household", str(household_id), "--user", world.admin.username]
    result = runner.invoke(args=[*admin, "--delete"])
    assert result.exit_code != 0 and "业务记录" in result.output
    assert runner.invoke(args=[*admin, "--restore"]).exit_code == 0
    db.session.expire_all()
    household = db.session.get(Household, household_id)
    assert household is not None and not household.is_archived
