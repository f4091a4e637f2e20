"""The special fund's rules: postings, the balance, reversals, pledges, immutability,
support plans, concurrency (PostgreSQL), anomalies and the to-do items."""

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.extensions import db
from app.models import (
    FundAccount,
    LedgerEntry,
    PlanMonth,
    StoredFile,
    SupportPlan,
    User,
)
from app.services import fund, todo
from app.validation import InvalidValue
from tests.conftest import config_for
from tests.factories import (
    count,
    fund_balance,
    jpeg,
    make_fund,
    make_good_neighbour_plan,
    make_household,
    make_pledge,
    make_project,
)

TODAY = dt.date(2026, 11, 15)


@pytest.fixture
def world(world):
    """The world, with a special fund of 10,000 yuan that has a history
    (``make_fund``)."""
    make_fund(world)
    return world


@pytest.fixture
def good_neighbour(world) -> SupportPlan:
    """August paid, September checked, October awaiting evidence."""
    return make_good_neighbour_plan(world)


def entries() -> int:
    return count(LedgerEntry)


def _admin() -> User:
    """The district administrator, the only user who posts to the ledger."""
    return db.session.scalar(select(User).where(User.role == "district_admin"))


def pay(amount, **kwargs) -> LedgerEntry:
    kwargs.setdefault("purpose", "测试拨付")
    kwargs.setdefault("payee_person", "测试收款人")
    return fund.post_disbursement(user=_admin(), amount=amount, posted_on=TODAY, **kwargs)


def give(amount, **kwargs) -> LedgerEntry:
    kwargs.setdefault("donor_name", "测试捐赠人")
    kwargs.setdefault("receipt_number", "T-1")
    return fund.post_donation(user=_admin(), amount=amount, posted_on=TODAY, **kwargs)


def drain_to(target: Decimal) -> None:
    pay(fund_balance() - target, purpose="测试：清空余额")


# ------------------------------------------------------------------ balance
def test_the_ledger_sums_to_the_account_balance(world, app):
    pay("300")
    held, summed = fund.check_balance()
    # 10,000 given, 500 paid and reversed, 300 paid
    assert held == summed == Decimal("9700.00")
    result = app.test_cli_runner().invoke(args=["fund-check"])
    assert result.exit_code == 0 and "ledger sum 9700.00" in result.output


def test_fund_check_reports_a_mismatch(world, app):
    db.session.execute(text("UPDATE fund_accounts SET balance = balance + 1"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["fund-check"])
    assert result.exit_code != 0 and "differ" in result.output


def test_donation_adds_to_the_balance_in_the_same_transaction(world):
    before, count = fund_balance(), entries()
    entry = give("1234.50", donor_organisation=world.sponsor.organisation)
    assert fund_balance() == before + Decimal("1234.50")
    assert entries() == count + 1
    assert (entry.entry_type, entry.direction, entry.street_id) == ("donation", "in", None)


def test_disbursement_takes_from_the_balance_and_keeps_its_evidence(world):
    before = fund_balance()
    project = make_project(world.far_community)
    entry = pay("300", project=project, files=[("发票.jpg", jpeg())])
    assert fund_balance() == before - 300
    assert entry.street_id == project.street_id
    assert [f.kind for f in entry.files] == ["receipt"]


def test_disbursement_beyond_the_balance_is_refused_with_the_balance_shown(world, app):
    before, count = fund_balance(), entries()
    files_before = db.session.scalar(select(func.count()).select_from(StoredFile))
    with pytest.raises(InvalidValue) as refused:
        pay(before + 1, files=[("发票.jpg", jpeg())])
    assert f"{before:,.2f}" in str(refused.value)
    assert fund_balance() == before and entries() == count
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == files_before
    # the receipt written before the refusal was removed with the rollback
    assert not [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()]


def test_the_database_refuses_a_negative_balance_even_without_the_service(world):
    account = fund.get_account()
    with pytest.raises(DBAPIError):
        db.session.execute(
            text("UPDATE fund_accounts SET balance = -1 WHERE id = :id"), {"id": account.id}
        )
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"purpose": ""},
        {"payee_person": None},
        {"amount": "0"},
        {"amount": "-5"},
        {"amount": "12.345"},
        {"amount": "abc"},
    ],
)
def test_bad_disbursements_are_refused_and_change_nothing(world, kwargs):
    before, count = fund_balance(), entries()
    args = {"amount": "10", "purpose": "x", "payee_person": "某人", **kwargs}
    with pytest.raises(InvalidValue):
        fund.post_disbursement(user=world.admin, posted_on=TODAY, **args)
    assert fund_balance() == before and entries() == count


@pytest.mark.parametrize("who", ["manager", "clerk", "worker", "sponsor"])
def test_only_the_district_administrator_posts(world, who):
    before, count = fund_balance(), entries()
    with pytest.raises(fund.NotAllowed):
        fund.post_donation(
            user=getattr(world, who),
            amount="10",
            posted_on=TODAY,
            receipt_number="X",
            donor_name="某人",
        )
    with pytest.raises(fund.NotAllowed):
        fund.post_disbursement(
            user=getattr(world, who),
            amount="10",
            posted_on=TODAY,
            purpose="x",
            payee_person="某人",
        )
    entry = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.id))
    with pytest.raises(fund.NotAllowed):
        fund.reverse_entry(entry, user=getattr(world, who), reason="x")
    assert fund_balance() == before and entries() == count


# ---------------------------------------------------------------- reversals
def test_a_reversing_entry_restores_the_balance(world):
    before = fund_balance()
    entry = pay("250", project=make_project(world.community))
    reversal = fund.reverse_entry(entry, user=world.admin, reason="录错金额")
    assert fund_balance() == before
    assert (reversal.entry_type, reversal.direction, reversal.amount_yuan) == (
        "reversal",
        "in",
        Decimal("250.00"),
    )
    assert reversal.reverses_id == entry.id and reversal.project_id == entry.project_id
    assert reversal.street_id == entry.street_id


def test_an_entry_is_reversed_at_most_once_and_a_reversal_never(world):
    entry = pay("50")
    reversal = fund.reverse_entry(entry, user=world.admin, reason="重复")
    before, count = fund_balance(), entries()
    with pytest.raises(InvalidValue, match="already been reversed|已冲正"):
        fund.reverse_entry(entry, user=world.admin, reason="再次")
    with pytest.raises(InvalidValue):
        fund.reverse_entry(reversal, user=world.admin, reason="冲正的冲正")
    with pytest.raises(InvalidValue):
        fund.reverse_entry(pay("5"), user=world.admin, reason="  ")
    assert fund_balance() == before - 5 and entries() == count + 1


def test_reversing_a_donation_cannot_take_the_balance_below_zero(world):
    donation = give("800")
    drain_to(Decimal("100"))
    with pytest.raises(InvalidValue, match="100.00"):
        fund.reverse_entry(donation, user=world.admin, reason="退回")
    assert fund_balance() == Decimal("100.00")
    give("700")
    fund.reverse_entry(donation, user=world.admin, reason="退回")
    assert fund_balance() == Decimal("0.00")


# ------------------------------------------------------------------- pledges
@pytest.fixture
def pledge(world):
    """The sponsor's approved 1,000-yuan money pledge to a project of the worker's
    community, decided on 2026-09-01 and not yet received."""
    project = make_project(world.community, budget=Decimal("5000"))
    row = make_pledge(
        project,
        world.sponsor.organisation,
        amount="1000",
        status="approved",
        decided_at=dt.datetime(2026, 9, 1, 10, 0),
    )
    db.session.commit()
    return row


def test_a_pledge_is_received_in_instalments_never_beyond_what_it_owes(world, pledge):
    first = give("600", pledge=pledge, donor_name=None)
    assert first.project_id == pledge.project_id
    assert first.donor_organisation_id == pledge.organisation_id
    assert first.street_id == pledge.project.street_id
    assert pledge.received_on is None and fund.pledge_outstanding(pledge) == 400
    with pytest.raises(InvalidValue, match="400.00"):
        give("400.01", pledge=pledge, donor_name=None)
    give("400", pledge=pledge, donor_name=None)
    assert pledge.received_on == TODAY
    fund.reverse_entry(first, user=world.admin, reason="退款")
    db.session.refresh(pledge)
    assert pledge.received_on is None and fund.pledge_outstanding(pledge) == 600


@pytest.mark.parametrize("change", [{"status": "pending"}, {"kind": "in_kind"}])
def test_only_approved_money_pledges_take_donations(app, pledge, change):
    for key, value in change.items():
        setattr(pledge, key, value)
    db.session.commit()
    count = entries()
    with pytest.raises(InvalidValue):
        give("10", pledge=pledge)
    assert entries() == count


# ------------------------------------------------------------- immutability
def test_posted_entries_cannot_be_changed_or_deleted_through_the_orm(world):
    entry = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.id))
    entry.amount_yuan = Decimal("1")
    with pytest.raises(InvalidValue):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(LedgerEntry, entry.id))
    with pytest.raises(InvalidValue):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE fund_ledger SET amount_yuan = 1",
        "UPDATE fund_ledger SET purpose = 'x' WHERE id = (SELECT MIN(id) FROM fund_ledger)",
        "DELETE FROM fund_ledger WHERE entry_type = 'reversal'",
        "DELETE FROM fund_ledger",
    ],
)
def test_the_database_triggers_refuse_direct_sql(world, statement):
    before = db.session.execute(select(LedgerEntry.id, LedgerEntry.amount_yuan)).all()
    with pytest.raises(DBAPIError, match="immutable"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.execute(select(LedgerEntry.id, LedgerEntry.amount_yuan)).all() == before


# ------------------------------------------------------------- support plans
@pytest.fixture
def plan(world):
    return fund.create_plan(
        user=world.clerk,
        household=make_household(world.community),
        name="测试助餐",
        monthly_amount="450",
        unit_amount="15",
        unit="餐",
        payee_person="邻居王阿姨",
        payee_phone="13900002222",
        starts_on=dt.date(2026, 1, 20),
        ends_on=dt.date(2026, 3, 5),
        agreement_files=[("三方协议.jpg", jpeg())],
    )


def test_a_plan_has_one_month_row_per_month_and_its_agreement(plan):
    assert [m.month for m in plan.months] == [
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    ]
    assert {m.status for m in plan.months} == {"awaiting_evidence"}
    assert all(m.street_id == plan.street_id and m.community_id for m in plan.months)
    assert [f.kind for f in plan.files] == ["agreement"]


def test_a_clerk_of_another_street_cannot_make_a_plan_here(world):
    household = make_household(world.community)
    before = count(SupportPlan)
    for user in (world.far_clerk, world.worker, world.manager):
        with pytest.raises(fund.NotAllowed):
            fund.create_plan(
                user=user,
                household=household,
                name="越权",
                monthly_amount="100",
                payee_person="某人",
                starts_on=dt.date(2026, 1, 1),
                ends_on=dt.date(2026, 2, 1),
            )
    assert count(SupportPlan) == before


def test_a_month_is_checked_only_with_a_photo_and_a_menu_then_paid_once(world, plan):
    month = plan.months[0]
    admin, clerk, worker = world.admin, world.clerk, world.worker
    with pytest.raises(InvalidValue):
        fund.pay_plan_month(month, user=admin, posted_on=TODAY)
    fund.upload_month_evidence(month, user=worker, photos=[("午餐.jpg", jpeg())], units=28)
    with pytest.raises(InvalidValue, match="photo and one menu|照片"):
        fund.check_month(month, user=clerk, accept=True)
    with pytest.raises(InvalidValue):
        fund.pay_plan_month(month, user=admin, posted_on=TODAY)
    fund.upload_month_evidence(month, user=worker, menus=[("菜单.jpg", jpeg())])
    with pytest.raises(fund.NotAllowed):
        fund.check_month(month, user=worker, accept=True)
    with pytest.raises(fund.NotAllowed):
        fund.check_month(month, user=world.far_clerk, accept=True)
    fund.check_month(month, user=clerk, accept=True, note="相符")
    assert (month.status, month.is_evidence_accepted) == ("checked", True)
    with pytest.raises(InvalidValue):
        fund.upload_month_evidence(month, user=worker, photos=[("迟到.jpg", jpeg())])
    with pytest.raises(fund.NotAllowed):
        fund.pay_plan_month(month, user=clerk, posted_on=TODAY)
    before = fund_balance()
    payment = fund.pay_plan_month(month, user=admin, posted_on=TODAY)
    # 28 meals × 15 yuan, under the 450 yuan monthly cap
    assert payment.amount_yuan == Decimal("420.00") and fund_balance() == before - 420
    assert payment.payee_person == "邻居王阿姨" and payment.household_id == plan.household_id
    db.session.refresh(month)
    assert month.status == "paid"
    with pytest.raises(InvalidValue, match="already been paid|已拨付"):
        fund.pay_plan_month(month, user=admin, posted_on=TODAY)
    assert fund_balance() == before - 420


def test_a_returned_month_needs_a_note_and_stays_open(world, plan):
    month = plan.months[1]
    with pytest.raises(InvalidValue):
        fund.check_month(month, user=world.clerk, accept=False, note="")
    fund.check_month(month, user=world.clerk, accept=False, note="缺菜单")
    assert month.status == "awaiting_evidence" and month.check_note == "缺菜单"


def test_reversing_a_month_payment_puts_it_back_to_checked(world, good_neighbour):
    plan = good_neighbour
    paid = next(m for m in plan.months if m.status == "paid")
    before = fund_balance()
    fund.reverse_entry(paid.payment, user=world.admin, reason="收款人账号错误")
    db.session.refresh(paid)
    assert paid.status == "checked" and fund_balance() == before + 450
    with pytest.raises(InvalidValue, match="reversed|冲正"):
        fund.pay_plan_month(paid, user=world.admin, posted_on=TODAY)


def test_month_amount_is_capped_at_the_monthly_amount(plan):
    month = plan.months[0]
    month.units = 40
    assert fund.month_amount(month) == Decimal("450.00")
    month.units = None
    assert fund.month_amount(month) == Decimal("450.00")


def test_shortening_a_plan_past_a_month_with_evidence_is_refused(world, plan):
    fund.upload_month_evidence(plan.months[2], user=world.worker, photos=[("午餐.jpg", jpeg())])
    plan.ends_on = dt.date(2026, 2, 1)
    with pytest.raises(InvalidValue):
        fund.sync_plan_months(plan)
    db.session.rollback()
    plan = db.session.get(SupportPlan, plan.id)
    plan.ends_on = dt.date(2026, 4, 1)
    fund.sync_plan_months(plan)
    db.session.commit()
    assert len(plan.months) == 4


# ------------------------------------------------------------- concurrency
def _in_threads(app, n, work):
    """Run ``work`` n times at once, each in its own app context and connection."""
    barrier = threading.Barrier(n)
    outcomes = []
    lock = threading.Lock()

    def run():
        with app.app_context():
            barrier.wait()
            try:
                work()
                result = "ok"
            except InvalidValue:
                result = "refused"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


@pytest.mark.postgresql
def test_concurrent_disbursements_never_overdraw(world, app, backend):
    if backend.name != "postgresql":
        pytest.skip("concurrency is checked on PostgreSQL")
    drain_to(Decimal("1000"))
    admin_id, count = world.admin.id, entries()
    db.session.commit()

    def work():
        fund.post_disbursement(
            user=db.session.get(User, admin_id),
            amount="100",
            posted_on=TODAY,
            purpose="并发拨付",
            payee_person="某人",
        )

    outcomes = _in_threads(app, 20, work)
    db.session.expire_all()
    assert outcomes.count("ok") == 10 and outcomes.count("refused") == 10
    assert fund_balance() == Decimal("0.00")
    assert entries() == count + 10
    assert db.session.scalar(select(FundAccount.balance)) >= 0


@pytest.mark.postgresql
def test_concurrent_payments_of_one_month_pay_it_once(world, app, backend, good_neighbour):
    if backend.name != "postgresql":
        pytest.skip("concurrency is checked on PostgreSQL")
    month = next(m for m in good_neighbour.months if m.status == "checked")
    month_id, admin_id, before = month.id, world.admin.id, fund_balance()
    db.session.commit()

    def work():
        fund.pay_plan_month(
            db.session.get(PlanMonth, month_id),
            user=db.session.get(User, admin_id),
            posted_on=TODAY,
        )

    outcomes = _in_threads(app, 6, work)
    db.session.expire_all()
    assert outcomes.count("ok") == 1
    assert fund_balance() == before - 450


# ---------------------------------------------------------------- position
def test_earmarked_reserved_and_free_money(world, pledge, good_neighbour):
    before = fund.fund_position(world.admin, TODAY)
    give("1000", pledge=pledge, donor_name=None)
    pay("300", project=pledge.project)
    after = fund.fund_position(world.admin, TODAY)
    assert after["earmarked"] == before["earmarked"] + 700
    assert after["balance"] == before["balance"] + 700
    assert after["free"] == before["free"]
    plans = db.session.scalars(select(SupportPlan).where(SupportPlan.status == "active"))
    reserved = sum(p.monthly_amount * sum(1 for m in p.months if m.status != "paid") for p in plans)
    assert after["reserved"] == reserved
    assert after["free"] == after["balance"] - after["earmarked"] - after["reserved"]
    assert after["month_in"] >= 1000 and after["month_out"] >= 300
    # 10,000 in the fund, 450 paid for August, 1,000 received and 300 spent: of the
    # pledge 700 are left for its project; September and October are reserved
    assert (after["balance"], after["earmarked"], after["reserved"], after["free"]) == (
        Decimal("10250.00"),
        Decimal("700.00"),
        Decimal("900.00"),
        Decimal("8650.00"),
    )
    assert (after["month_in"], after["month_out"]) == (Decimal("1000.00"), Decimal("300.00"))


def test_totals_are_limited_to_the_users_area(world):
    give("100")  # district level: everyone reading the ledger counts it
    pay("40", project=make_project(world.far_community))
    clerk = fund.fund_position(world.clerk, TODAY)
    other = fund.fund_position(world.far_clerk, TODAY)
    assert clerk["month_in"] == other["month_in"] == Decimal("100.00")
    assert (clerk["month_out"], other["month_out"]) == (Decimal("0.00"), Decimal("40.00"))


# ---------------------------------------------------------------- anomalies
def test_disbursements_without_evidence(world, good_neighbour):
    bare = pay("10", project=make_project(world.community))
    proven = pay("10", project=make_project(world.community), files=[("发票.jpg", jpeg())])
    undone = pay("10", project=make_project(world.community))
    fund.reverse_entry(undone, user=world.admin, reason="撤回")
    found = {e.id for e in fund.disbursements_without_evidence(world.admin, TODAY)}
    assert bare.id in found and proven.id not in found and undone.id not in found
    assert bare.id in {e.id for e in fund.disbursements_without_evidence(world.clerk, TODAY)}
    assert bare.id not in {
        e.id for e in fund.disbursements_without_evidence(world.far_clerk, TODAY)
    }
    assert bare.id not in {
        e.id for e in fund.disbursements_without_evidence(world.admin, TODAY - dt.timedelta(days=1))
    }
    # a support-plan payment is proven by its month's evidence
    paid = next(m for m in good_neighbour.months if m.status == "paid")
    assert paid.payment.id not in found
    fund.add_entry_evidence(bare, user=world.admin, files=[("补充.jpg", jpeg())])
    assert bare.id not in {e.id for e in fund.disbursements_without_evidence(world.admin, TODAY)}


def test_plan_months_missing_depend_on_the_date(world, good_neighbour):
    plan = good_neighbour

    def problems(today, user=None):
        return {
            (m.month.month.month, m.problem)
            for m in fund.plan_months_missing(user or world.admin, today)
            if m.month.plan_id == plan.id
        }

    assert problems(dt.date(2026, 9, 20)) == set()
    assert problems(dt.date(2026, 10, 20)) == {(9, "not_paid")}
    assert problems(TODAY) == {(9, "not_paid"), (10, "no_evidence")}
    assert problems(TODAY, world.far_clerk) == set()
    assert problems(TODAY, world.worker) == {(9, "not_paid"), (10, "no_evidence")}
    plan.status = "ended"
    db.session.commit()
    assert problems(TODAY) == set()


def test_projects_beyond_budget(world):
    project = make_project(world.far_community, budget=Decimal("100"))
    db.session.commit()
    entry = pay("5000", project=project)
    assert project.id in {p.id for p, _ in fund.projects_over_budget(world.admin, TODAY)}
    assert project.id not in {p.id for p, _ in fund.projects_over_budget(world.clerk, TODAY)}
    fund.reverse_entry(entry, user=world.admin, reason="撤回")
    # the reversal is posted today (real date), after the frozen TODAY
    still = {p.id for p, _ in fund.projects_over_budget(world.admin, dt.date.today())}
    assert project.id not in still


def test_pledges_not_received_after_the_configured_days(world, app, pledge):
    app.config["PLEDGE_RECEIPT_OVERDUE_DAYS"] = 30
    day = pledge.decided_at.date()
    assert pledge not in fund.pledges_not_received(world.admin, day + dt.timedelta(days=30))
    assert pledge in fund.pledges_not_received(world.admin, day + dt.timedelta(days=31))
    assert pledge in fund.pledges_not_received(world.clerk, day + dt.timedelta(days=31))
    assert pledge not in fund.pledges_not_received(world.far_clerk, day + dt.timedelta(days=31))
    assert pledge not in fund.pledges_not_received(world.admin, day + dt.timedelta(days=31), 60)
    give("1000", pledge=pledge, donor_name=None)
    assert pledge not in fund.pledges_not_received(world.admin, day + dt.timedelta(days=99))
    assert fund.anomalies(world.admin, TODAY).keys() == {
        "disbursements_without_evidence",
        "plan_months_missing",
        "projects_over_budget",
        "pledges_not_received",
    }


# --------------------------------------------------------------------- to-do
def test_months_without_evidence_are_on_the_to_do_list(world, app, good_neighbour):
    with app.test_request_context():
        worker_items = fund.plan_month_todo_items(world.worker, TODAY)
        october = next(i for i in worker_items if "睦邻计划" in i.title)
        assert october.kind == "plan_month_evidence"
        assert "2026-10" in october.title
        assert october.overdue_since == dt.date(2026, 11, 1)
        assert october.url.startswith("/admin/plan_month/details/")
        household = good_neighbour.household
        assert october.household_label == household.head_name
        assert october.is_overdue and october.due_on == dt.date(2026, 10, 31)
        assert household.head_id_number not in repr(october)
        assert len(fund.plan_month_todo_items(world.clerk, TODAY)) == len(worker_items)
        assert not [
            i for i in fund.plan_month_todo_items(world.far_worker, TODAY) if "睦邻" in i.title
        ]
        # the same items are on the worker's to-do list (待办), beside visits and needs
        listed = [i for i in todo.todo_items(world.worker, TODAY) if "睦邻计划" in i.title]
        assert [i.url for i in listed] == [i.url for i in worker_items if "睦邻计划" in i.title]
        assert fund.plan_month_todo_items(world.manager, TODAY) == []
        assert fund.plan_month_todo_items(world.sponsor, TODAY) == []
        assert not [
            i
            for i in fund.plan_month_todo_items(world.worker, dt.date(2026, 10, 31))
            if "睦邻" in i.title
        ]


def test_a_plan_moves_to_another_household_only_before_anything_happened(
    world, plan, good_neighbour
):
    other = make_household(world.community)
    plan.household = other
    fund.sync_plan_months(plan)
    db.session.commit()
    assert {m.household_id for m in plan.months} == {other.id}
    fund.upload_month_evidence(plan.months[0], user=world.worker, photos=[("a.jpg", jpeg())])
    plan.household = good_neighbour.household
    with pytest.raises(InvalidValue):
        fund.sync_plan_months(plan)
    db.session.rollback()


def test_the_migrations_make_the_ledger_triggers(backend):
    """``flask db upgrade`` (not only ``create_all``) builds the immutability triggers."""
    url = backend.fresh_empty()
    application = create_app(config_for(url))
    with application.app_context():
        upgrade(directory=str(Path(__file__).resolve().parents[2] / "migrations"))
        db.session.execute(text("INSERT INTO fund_accounts (id, name, balance) VALUES (1, 'f', 5)"))
        db.session.execute(
            text(
                "INSERT INTO fund_ledger (id, account_id, entry_type, direction, amount_yuan,"
                " posted_on, posted_at) VALUES (1, 1, 'donation', 'in', 5, '2026-01-01',"
                " '2026-01-01 00:00:00')"
            )
        )
        db.session.commit()
        for statement in ("UPDATE fund_ledger SET amount_yuan = 6", "DELETE FROM fund_ledger"):
            with pytest.raises(DBAPIError, match="immutable"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.scalar(text("SELECT amount_yuan FROM fund_ledger")) == 5
        db.session.remove()
        db.engine.dispose()
    backend.drop(url)
