"""Pledges (认领): the reservation rule, decisions, withdrawal, and what a sponsor's
support achieved."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import (
    FundAccount,
    LedgerEntry,
    Pledge,
    Project,
    User,
)
from app.services import sponsorship
from app.validation import InvalidValue
from tests.conftest import _make_app
from tests.factories import (
    make_community,
    make_household,
    make_organisation,
    make_project,
    make_service_record,
    make_user,
)


def new_project(community, budget="1000", status="open", summary="为社区困难家庭更换纱窗"):
    """A community project of ``community``, committed."""
    project = make_project(community, budget=Decimal(budget), status=status, public_summary=summary)
    db.session.commit()
    return project


def give(project, user, amount="100", **kwargs) -> Pledge:
    return sponsorship.pledge(
        project, organisation=user.organisation, user=user, amount=amount, **kwargs
    )


def total(project) -> Decimal:
    db.session.expire_all()
    return db.session.get(Project, project.id).pledged_total


def refused(fn, *args, **kwargs) -> str:
    with pytest.raises(InvalidValue) as info, force_locale("en"):
        fn(*args, **kwargs)
    with force_locale("en"):
        return str(info.value)


# ------------------------------------------------------------------ pledging
def test_partial_pledges_from_several_sponsors_share_a_project(world):
    project = new_project(world.neighbour, "1000")
    first = give(project, world.sponsor, "300")
    second = give(
        project, world.other_sponsor, "450.50", kind="in_kind", in_kind_description="冬衣50件"
    )
    assert first.status == second.status == "pending"
    assert total(project) == Decimal("750.50")
    assert first.street_id == project.street_id and first.community_id == project.community_id
    assert first.created_by_id == world.sponsor.id
    assert second.in_kind_description == "冬衣50件"


def test_an_over_pledge_is_refused_with_what_remains(world):
    project = new_project(world.neighbour, "1000")
    give(project, world.sponsor, "700")
    message = refused(give, project, world.other_sponsor, "300.01")
    assert "300.00 yuan remain" in message
    assert total(project) == Decimal("700")
    assert (
        db.session.scalar(select(db.func.count(Pledge.id)).where(Pledge.project_id == project.id))
        == 1
    )
    give(project, world.other_sponsor, "300")  # exactly the rest is fine
    assert total(project) == Decimal("1000")


def test_over_pledge_message_in_chinese(world):
    project = new_project(world.neighbour, "500")
    user = world.sponsor
    with pytest.raises(InvalidValue) as info, force_locale("zh_Hans_CN"):
        sponsorship.pledge(project, organisation=user.organisation, user=user, amount="600")
    with force_locale("zh_Hans_CN"):
        assert "500.00" in str(info.value) and "元" in str(info.value)


@pytest.mark.parametrize("amount", ["0", "-5", "12.345", "abc", "", None])
def test_bad_amounts_are_refused(world, amount):
    project = new_project(world.neighbour)
    with pytest.raises(InvalidValue):
        give(project, world.sponsor, amount=amount)
    assert total(project) == 0


def test_in_kind_needs_a_description(world):
    project = new_project(world.neighbour)
    assert "Describe" in refused(
        give, project, world.sponsor, kind="in_kind", in_kind_description="  "
    )
    assert "money or in-kind" in refused(give, project, world.sponsor, kind="shares")
    assert total(project) == 0


@pytest.mark.parametrize("status", ["draft", "claimed", "in_progress", "completed", "cancelled"])
def test_only_open_projects_take_pledges(world, status):
    project = new_project(world.neighbour, status=status)
    assert "not open" in refused(give, project, world.sponsor)
    assert total(project) == 0


def test_an_open_project_without_a_summary_for_sponsors_takes_no_pledge(world):
    project = new_project(world.neighbour, summary="   ")
    assert "not open" in refused(give, project, world.sponsor)


@pytest.mark.parametrize("who", ["admin", "clerk", "worker", "manager"])
def test_staff_do_not_pledge_on_a_sponsors_behalf(world, who):
    project = new_project(world.neighbour)
    organisation = world.sponsor.organisation
    message = refused(
        sponsorship.pledge,
        project,
        organisation=organisation,
        user=getattr(world, who),
        amount="10",
    )
    assert "Only a sponsor account of this organisation" in message
    assert total(project) == 0


def test_a_sponsor_cannot_pledge_for_another_organisation(world):
    project = new_project(world.neighbour)
    other = world.other_sponsor.organisation
    message = refused(
        sponsorship.pledge, project, organisation=other, user=world.sponsor, amount="10"
    )
    assert "Only a sponsor account" in message


def test_an_inactive_sponsor_account_cannot_pledge(world):
    project = new_project(world.neighbour)
    user = world.sponsor
    user.is_active = False
    db.session.commit()
    assert "Only a sponsor account" in refused(give, project, world.sponsor)


def test_sequential_pledges_never_pass_the_budget(world):
    """The rule the concurrent test checks, one pledge after another (SQLite too)."""
    project = new_project(world.neighbour, "1000")
    outcomes = []
    for i in range(50):
        try:
            give(project, world.sponsor if i % 2 else world.other_sponsor, "30")
            outcomes.append(True)
        except InvalidValue:
            outcomes.append(False)
    assert outcomes.count(True) == 33
    assert total(project) == Decimal("990")


# ------------------------------------------------------------------ deciding
def test_approving_adds_the_sponsor_and_claims_only_when_covered(world):
    project = new_project(world.neighbour, "1000")
    a = give(project, world.sponsor, "600")
    b = give(project, world.other_sponsor, "400")
    clerk = world.clerk
    sponsorship.approve_pledge(a, user=clerk, note="已核实")
    db.session.expire_all()
    project = db.session.get(Project, project.id)
    assert project.status == "open"
    assert project.sponsors == [world.sponsor.organisation]
    a = db.session.get(Pledge, a.id)
    assert (a.status, a.decided_by_id, a.decision_note) == ("approved", clerk.id, "已核实")
    assert a.decided_at is not None

    sponsorship.approve_pledge(db.session.get(Pledge, b.id), user=clerk, note=None)
    db.session.expire_all()
    project = db.session.get(Project, project.id)
    assert project.status == "claimed"
    assert set(project.sponsors) == {world.sponsor.organisation, world.other_sponsor.organisation}
    assert project.pledged_total == Decimal("1000")


def test_pending_pledges_covering_the_budget_do_not_claim_the_project(world):
    project = new_project(world.neighbour, "1000")
    a = give(project, world.sponsor, "500")
    give(project, world.other_sponsor, "500")
    sponsorship.approve_pledge(a, user=world.admin)
    assert db.session.get(Project, project.id).status == "open"


def test_rejecting_needs_a_note_and_returns_the_amount(world):
    project = new_project(world.neighbour, "1000")
    p = give(project, world.sponsor, "800")
    clerk = world.clerk
    assert "Say why" in refused(sponsorship.reject_pledge, p, user=clerk, note=" ")
    assert total(project) == Decimal("800")
    p = db.session.get(Pledge, p.id)
    sponsorship.reject_pledge(p, user=clerk, note="物资规格不符")
    db.session.expire_all()
    p = db.session.get(Pledge, p.id)
    assert (p.status, p.decision_note, p.decided_by_id) == ("rejected", "物资规格不符", clerk.id)
    assert total(project) == 0
    give(project, world.other_sponsor, "1000")  # the budget is open again


def test_a_decision_is_made_once(world):
    project = new_project(world.neighbour, "1000")
    p = give(project, world.sponsor, "100")
    sponsorship.reject_pledge(p, user=world.admin, note="重复")
    p = db.session.get(Pledge, p.id)
    assert "already been decided" in refused(sponsorship.approve_pledge, p, user=world.admin)
    assert "already been decided" in refused(
        sponsorship.reject_pledge, p, user=world.admin, note="again"
    )
    assert total(project) == 0  # returned once, not twice


@pytest.mark.parametrize("who", ["far_clerk", "worker", "manager", "sponsor", "other_sponsor"])
def test_only_the_streets_clerk_or_the_admin_decide(world, who):
    project = new_project(world.neighbour, "1000")
    p = give(project, world.sponsor, "100")
    message = refused(sponsorship.approve_pledge, p, user=getattr(world, who))
    assert "Only a clerk of the project's street" in message
    refused(sponsorship.reject_pledge, p, user=getattr(world, who), note="no")
    db.session.expire_all()
    assert db.session.get(Pledge, p.id).status == "pending"
    assert total(project) == Decimal("100")


def test_a_pledge_on_a_project_no_longer_open_can_only_be_rejected(world):
    project = new_project(world.neighbour, "1000")
    p = give(project, world.sponsor, "100")
    project = db.session.get(Project, project.id)
    project.status = "cancelled"
    db.session.commit()
    assert "reject the pledge instead" in refused(sponsorship.approve_pledge, p, user=world.admin)
    sponsorship.reject_pledge(db.session.get(Pledge, p.id), user=world.admin, note="项目取消")
    assert total(project) == 0


# ------------------------------------------------------------------ withdrawing
def test_the_sponsor_withdraws_a_pending_pledge(world):
    project = new_project(world.neighbour, "1000")
    p = give(project, world.sponsor, "250")
    sponsor = world.sponsor
    sponsorship.withdraw_pledge(p, user=sponsor)
    db.session.expire_all()
    p = db.session.get(Pledge, p.id)
    assert (p.status, p.decided_by_id) == ("withdrawn", sponsor.id)
    assert total(project) == 0


@pytest.mark.parametrize("who", ["other_sponsor", "clerk", "admin"])
def test_only_the_pledging_organisation_withdraws(world, who):
    project = new_project(world.neighbour, "1000")
    p = give(project, world.sponsor, "250")
    assert "Only the pledging organisation" in refused(
        sponsorship.withdraw_pledge, p, user=getattr(world, who)
    )
    assert total(project) == Decimal("250")


def test_an_approved_pledge_cannot_be_withdrawn_by_the_sponsor(world):
    project = new_project(world.neighbour, "1000")
    p = give(project, world.sponsor, "250")
    sponsorship.approve_pledge(p, user=world.clerk)
    p = db.session.get(Pledge, p.id)
    assert "contact the street office" in refused(
        sponsorship.withdraw_pledge, p, user=world.sponsor
    )
    assert total(project) == Decimal("250")
    assert db.session.get(Pledge, p.id).status == "approved"


# ------------------------------------------------------------------ receiving
def test_in_kind_support_is_marked_received_by_staff(world):
    project = new_project(world.neighbour, "1000")
    goods = give(project, world.sponsor, "300", kind="in_kind", in_kind_description="轮椅2台")
    money = give(project, world.other_sponsor, "300")
    clerk = world.clerk
    assert "Only an approved pledge" in refused(
        sponsorship.mark_received, goods, user=clerk, received_on=dt.date.today()
    )
    sponsorship.approve_pledge(goods, user=clerk)
    sponsorship.approve_pledge(db.session.get(Pledge, money.id), user=clerk)
    goods = db.session.get(Pledge, goods.id)
    assert "future" in refused(
        sponsorship.mark_received,
        goods,
        user=clerk,
        received_on=dt.date.today() + dt.timedelta(days=2),
    )
    assert "Only a clerk" in refused(
        sponsorship.mark_received, goods, user=world.far_clerk, received_on=dt.date.today()
    )
    sponsorship.mark_received(goods, user=clerk, received_on=dt.date(2026, 1, 5))
    assert db.session.get(Pledge, goods.id).received_on == dt.date(2026, 1, 5)
    assert "already marked received" in refused(
        sponsorship.mark_received, goods, user=clerk, received_on=dt.date.today()
    )
    assert "special fund" in refused(
        sponsorship.mark_received,
        db.session.get(Pledge, money.id),
        user=clerk,
        received_on=dt.date.today(),
    )


# ------------------------------------------------------------------ the budget
def test_the_budget_cannot_drop_below_what_is_pledged(world):
    project = new_project(world.neighbour, "1000")
    give(project, world.sponsor, "600")
    project = db.session.get(Project, project.id)
    project.budget = Decimal("500")
    with pytest.raises(InvalidValue, match="600"):
        db.session.commit()
    db.session.rollback()


def test_the_summary_for_sponsors_names_no_beneficiary(world):
    household = make_household(world.neighbour)
    project = Project(
        name="到户助餐",
        level="household",
        help_kind="service",
        public_summary=f"为{household.head_name}送午餐",
        budget=Decimal("100"),
        status="draft",
        community=world.neighbour,
        beneficiaries=[household],
    )
    db.session.add(project)
    with pytest.raises(InvalidValue):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(InvalidValue):
        new_project(world.neighbour, summary="联系电话13812345678")
    db.session.rollback()
    assert db.session.scalar(select(Project.id).where(Project.public_summary.like("%138%"))) is None


# ------------------------------------------------------------------ concurrency
def test_fifty_sponsors_pledging_at_once_never_pass_the_budget(world, app, backend):
    """50 pledges of 30 yuan on a 1000-yuan budget, each in its own thread, app
    context, session and connection: exactly 33 succeed, the rest are told what
    remains, and the stored total never passes the budget."""
    if backend.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite runs one writer at a time)")
    project_id = new_project(world.neighbour, "1000").id
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = _make_app(
        url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 50, "max_overflow": 0, "pool_timeout": 60}
    )
    sponsor_ids = [world.sponsor.id, world.other_sponsor.id]
    start = threading.Barrier(50)
    results: list = []
    lock = threading.Lock()

    def attempt(i):
        with workers.app_context(), force_locale("en"):
            user = db.session.get(User, sponsor_ids[i % 2])
            target = db.session.get(Project, project_id)
            db.session.connection()  # hold a connection before the race starts
            start.wait(timeout=60)
            try:
                sponsorship.pledge(target, organisation=user.organisation, user=user, amount="30")
                outcome = "ok"
            except InvalidValue as exc:
                outcome = str(exc)
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with workers.app_context():
        db.engine.dispose()

    assert len(results) == 50
    assert results.count("ok") == 33
    refusals = [r for r in results if r != "ok"]
    assert all("10.00 yuan remain" in r for r in refusals), set(refusals)
    assert db.session.get(Project, project_id).pledged_total == Decimal("990")
    stored = db.session.scalar(
        select(db.func.sum(Pledge.amount_yuan)).where(Pledge.project_id == project_id)
    )
    assert stored == Decimal("990")


# ------------------------------------------------------------------ impact
def _post_disbursement(project, amount, account):
    entry = LedgerEntry(
        account=account,
        entry_type="disbursement",
        direction="out",
        amount_yuan=Decimal(amount),
        project=project,
        purpose="采购",
        posted_on=dt.date(2026, 3, 1),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def test_impact_counts_money_and_reach(world):
    mine, other = make_user("sponsor"), make_user("sponsor")
    a = new_project(world.neighbour, "1000")
    b = new_project(make_community(world.street), "2000")
    untouched = new_project(world.community, "3000")
    pa = give(a, mine, "600")
    give(a, other, "400")
    pb = give(b, mine, "500", kind="in_kind", in_kind_description="米面油")
    give(b, mine, "100")  # stays pending
    give(untouched, other, "100")
    admin = world.admin
    for p in db.session.scalars(select(Pledge).where(Pledge.project_id == a.id)).all():
        sponsorship.approve_pledge(p, user=admin)
    sponsorship.approve_pledge(db.session.get(Pledge, pb.id), user=admin)
    sponsorship.mark_received(
        db.session.get(Pledge, pb.id), user=admin, received_on=dt.date(2026, 2, 1)
    )
    db.session.get(Pledge, pa.id).received_on = dt.date(2026, 2, 2)  # as the fund does
    account = FundAccount(name="测试基金", balance=Decimal("100000"))
    db.session.add(account)
    a, b = db.session.get(Project, a.id), db.session.get(Project, b.id)
    first = _post_disbursement(a, "500", account)
    _post_disbursement(b, "300", account)
    _post_disbursement(db.session.get(Project, untouched.id), "50", account)
    db.session.add(
        LedgerEntry(
            account=account,
            entry_type="reversal",
            direction="in",
            amount_yuan=Decimal("100"),
            reverses=first,
            posted_on=dt.date(2026, 3, 2),
        )
    )
    for household in (make_household(world.community), make_household(world.community)):
        for _ in range(2):  # the same household twice counts once
            make_service_record(household, project=b, description="送米面油")
    db.session.commit()

    impact = sponsorship.sponsor_impact(mine.organisation)
    assert impact.pledged == Decimal("1200")  # 600 + 500 + 100 pending
    assert impact.approved == Decimal("1100")
    assert impact.received == Decimal("1100")
    # a: (500 - 100) × 600/1000 = 240; b: 300 × 500/500 = 300
    assert impact.spent == Decimal("540.00")
    assert impact.projects == 2
    by_id = {p.project.id: p for p in impact.progress}
    assert set(by_id) == {a.id, b.id}
    assert (by_id[a.id].spent, by_id[a.id].approved, by_id[a.id].own_approved) == (400, 1000, 600)
    assert (by_id[b.id].pledged, by_id[b.id].remaining, by_id[b.id].received) == (600, 1400, 500)
    # two served households of the worker's community; communities: that one, a's and b's
    assert impact.households_reached == 2
    assert impact.communities_reached == 3

    theirs = sponsorship.sponsor_impact(other.organisation)
    assert (theirs.pledged, theirs.approved, theirs.received) == (500, 400, 0)
    assert theirs.spent == Decimal("160.00")  # (500 - 100) × 400/1000
    assert theirs.households_reached == 0 and theirs.communities_reached == 1


def test_an_organisation_without_support_has_zero_impact(app):
    org = make_organisation("enterprise")
    db.session.commit()
    impact = sponsorship.sponsor_impact(org)
    assert (impact.pledged, impact.spent, impact.projects, impact.households_reached) == (
        0,
        0,
        0,
        0,
    )
