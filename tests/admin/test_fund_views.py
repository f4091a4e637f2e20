"""The special fund's pages as every role: overview, anomalies, posting forms,
reversal, evidence, support plans and months, exports; and that posted ledger rows
cannot be changed through any admin way in."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import (
    LedgerEntry,
    PlanMonth,
    StoredFile,
    SupportPlan,
)
from app.services import fund
from tests.conftest import ROLES
from tests.factories import (
    count,
    fund_balance,
    jpeg,
    make_fund,
    make_good_neighbour_plan,
    make_household,
    make_organisation,
    make_project,
    make_support_plan,
)

FUND_READERS = {"district_admin", "district_manager", "street_clerk"}


def plan_named(prefix) -> SupportPlan:
    return db.session.scalar(select(SupportPlan).where(SupportPlan.name.like(f"{prefix}%")))


def month_of(plan, status) -> PlanMonth:
    return next(m for m in plan.months if m.status == status)


def first_entry() -> LedgerEntry:
    return db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.id))


@pytest.fixture
def world(world):
    """The world, with a special fund of 10,000 yuan that has a history (``make_fund``)."""
    make_fund(world)
    return world


@pytest.fixture
def good_neighbour(world) -> SupportPlan:
    """August paid, September checked, October awaiting evidence."""
    return make_good_neighbour_plan(world)


@pytest.fixture(scope="module")
def shared_world(shared_world):
    """The module's world with its fund, the good-neighbour plan in the worker's
    community, a bathing-help plan in the far street (every month awaiting evidence),
    and a payment with its invoice for a project of the clerk's street."""
    w = shared_world
    make_fund(w)
    w.good_neighbour = make_good_neighbour_plan(w)
    w.far_plan = make_support_plan(
        make_household(w.far_community),
        name="助浴上门服务",
        payee_person=None,
        payee_organisation=make_organisation("social_org", street=w.far_street),
        monthly_amount=Decimal("200"),
        unit_amount=None,
        unit=None,
        starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2026, 12, 1),
    )
    db.session.commit()
    w.payment = fund.post_disbursement(
        user=w.admin,
        amount="600",
        posted_on=dt.date(2026, 4, 1),
        purpose="助餐设备采购",
        payee_person="晨光志愿者协会",
        project=make_project(w.community),
        files=[("发票.jpg", jpeg())],
    )
    return w


# ------------------------------------------------------------- overview pages
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/admin/fund/", "/admin/fund/anomalies/"])
def test_fund_pages_are_for_fund_readers(shared_world, shared_login, role, path):
    response = shared_login(shared_world.user(role)).get(path)
    assert response.status_code == (200 if role in FUND_READERS else 403)


@pytest.mark.parametrize("path", ["/admin/fund/", "/admin/fund/anomalies/"])
def test_fund_pages_send_anonymous_users_to_login(shared_app, path):
    response = shared_app.test_client().get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_overview_shows_the_position_and_the_months_awaiting_evidence(shared_world, shared_login):
    page = shared_login(shared_world.admin).get("/admin/fund/").get_data(as_text=True)
    position = fund.fund_position(shared_world.admin, dt.date.today())
    assert f"{position['balance']:,.2f}" in page
    assert 'id="fund-free"' in page and 'id="fund-definitions"' in page
    assert "助浴上门服务" in page  # months of both plans await evidence
    assert "睦邻计划" in page


def test_a_clerk_sees_only_their_streets_plans_and_anomalies(shared_world, shared_login):
    client = shared_login(shared_world.clerk)
    far = shared_world.far_plan.household
    for path in ("/admin/fund/", "/admin/fund/anomalies/"):
        page = client.get(path).get_data(as_text=True)
        assert "助浴上门服务" not in page and far.head_name not in page
        assert "睦邻计划" in page
    page = shared_login(shared_world.manager).get("/admin/fund/anomalies/").get_data(as_text=True)
    assert "助浴上门服务" in page


# ------------------------------------------------------------ posting forms
@pytest.mark.parametrize("role", ROLES)
def test_posting_forms_are_for_the_district_administrator(world, login, role):
    client = login(world.user(role))
    before, entries = fund_balance(), count(LedgerEntry)
    expected = 200 if role == "district_admin" else 403
    for kind in ("donation", "disbursement"):
        assert client.get(f"/admin/ledger/{kind}/").status_code == expected
    if role != "district_admin":
        data = {
            "amount": "10",
            "posted_on": "2026-11-20",
            "receipt_number": "X",
            "donor_name": "x",
            "purpose": "x",
            "payee_person": "x",
        }
        assert client.post("/admin/ledger/donation/", data=data).status_code == 403
        assert client.post("/admin/ledger/disbursement/", data=data).status_code == 403
        assert (
            client.post("/admin/ledger/reverse/", data={"id": 1, "reason": "x"}).status_code == 403
        )
        assert client.post("/admin/ledger/evidence/", data={"id": 1}).status_code == 403
    assert fund_balance() == before and count(LedgerEntry) == entries


def test_admin_posts_a_donation_with_its_receipt(world, login):
    client = login(world.admin)
    before = fund_balance()
    response = client.post(
        "/admin/ledger/donation/",
        data={
            "amount": "888.80",
            "posted_on": "2026-11-20",
            "receipt_number": "JJH-9",
            "donor_name": "王女士",
            "purpose": "捐赠",
            "files": (io.BytesIO(jpeg()), "收据.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and "/admin/ledger/details/" in response.headers["Location"]
    assert fund_balance() == before + Decimal("888.80")
    entry = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.id.desc()))
    assert entry.donor_name == "王女士" and [f.kind for f in entry.files] == ["receipt"]


def test_a_disbursement_beyond_the_balance_is_refused_on_the_form(world, login):
    client = login(world.admin)
    before, entries = fund_balance(), count(LedgerEntry)
    response = client.post(
        "/admin/ledger/disbursement/",
        data={
            "amount": str(before + 1),
            "posted_on": "2026-11-20",
            "purpose": "超额",
            "payee_person": "某人",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"{before:,.2f}" in page and "专项基金" in page
    assert fund_balance() == before and count(LedgerEntry) == entries


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "abc"},
        {"amount": "-3"},
        {"purpose": ""},
        {"household": "99999999"},
        {"project": "99999999"},
        {"posted_on": "not-a-date"},
    ],
)
def test_bad_disbursement_input_is_refused_with_a_message(world, login, change):
    client = login(world.admin)
    before, entries = fund_balance(), count(LedgerEntry)
    data = {"amount": "5", "posted_on": "2026-11-20", "purpose": "x", "payee_person": "y"}
    response = client.post("/admin/ledger/disbursement/", data={**data, **change})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "invalid-feedback" in page or "alert-danger" in page
    assert fund_balance() == before and count(LedgerEntry) == entries


def test_admin_reverses_once_and_adds_evidence(world, login):
    entry = fund.post_disbursement(
        user=world.admin,
        amount="800",
        posted_on=dt.date(2026, 11, 2),
        purpose="测试拨付",
        payee_person="收款人",
    )
    client = login(world.admin)
    entry_id, before, entries = entry.id, fund_balance(), count(LedgerEntry)
    assert entries == 4  # make_fund's three and this one
    response = client.post("/admin/ledger/reverse/", data={"id": entry_id, "reason": "测试冲正"})
    assert response.status_code == 302
    assert fund_balance() == before + 800 == Decimal("10000.00")
    assert count(LedgerEntry) == entries + 1
    again = client.post(
        "/admin/ledger/reverse/", data={"id": entry_id, "reason": "再次"}, follow_redirects=True
    )
    assert "该分录已冲正" in again.get_data(as_text=True)
    assert count(LedgerEntry) == entries + 1
    assert (
        client.post("/admin/ledger/reverse/", data={"id": 99999, "reason": "x"}).status_code == 404
    )
    files_before = count(StoredFile)
    response = client.post(
        "/admin/ledger/evidence/",
        data={"id": entry_id, "kind": "receipt", "files": (io.BytesIO(jpeg()), "补.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and count(StoredFile) == files_before + 1


# ----------------------------------------------------- the ledger is read-only
@pytest.mark.parametrize("role", ROLES)
def test_posted_entries_cannot_be_changed_through_any_admin_way_in(world, login, role):
    entry = first_entry()
    snapshot = {c.key: getattr(entry, c.key) for c in LedgerEntry.__table__.columns}
    entries = count(LedgerEntry)
    client = login(world.user(role))
    assert client.get(f"/admin/ledger/edit/?id={entry.id}").status_code == 403
    assert client.get("/admin/ledger/new/").status_code == 403
    attempts = [
        (f"edit/?id={entry.id}", {"amount_yuan": "1", "purpose": "改"}),
        ("new/", {"amount_yuan": "1", "entry_type": "donation", "direction": "in"}),
        ("delete/", {"id": entry.id}),
        ("ajax/update/", {"list_form_pk": entry.id, "purpose": "改"}),
        ("action/", {"action": "delete", "rowid": entry.id}),
    ]
    for path, data in attempts:
        assert client.post(f"/admin/ledger/{path}", data=data).status_code == 403, path
    db.session.expire_all()
    assert count(LedgerEntry) == entries
    after = db.session.get(LedgerEntry, entry.id)
    assert {c.key: getattr(after, c.key) for c in LedgerEntry.__table__.columns} == snapshot


def test_the_ledger_list_offers_no_edit_delete_or_bulk_action(shared_world, shared_login):
    page = shared_login(shared_world.admin).get("/admin/ledger/").get_data(as_text=True)
    assert "/admin/ledger/edit/" not in page and "/admin/ledger/delete/" not in page
    assert 'name="rowid"' not in page
    assert "/admin/ledger/donation/" in page and "/admin/ledger/disbursement/" in page
    clerk_page = shared_login(shared_world.clerk).get("/admin/ledger/").get_data(as_text=True)
    assert "/admin/ledger/donation/" not in clerk_page


def test_ledger_details_show_evidence_and_the_reversal_form_to_the_admin_only(
    shared_world, shared_login
):
    entry = shared_world.payment
    url = f"/admin/ledger/details/?id={entry.id}"
    admin_page = shared_login(shared_world.admin).get(url).get_data(as_text=True)
    assert 'id="reverse-entry"' in admin_page
    clerk = shared_login(shared_world.clerk).get(url)
    assert clerk.status_code == 200 and 'id="reverse-entry"' not in clerk.get_data(as_text=True)
    assert shared_login(shared_world.far_clerk).get(url).status_code == 404


# ------------------------------------------------------------------- exports
def _csv(client, path="/admin/ledger/export/csv/"):
    response = client.get(path)
    assert response.status_code == 200
    raw = response.get_data(as_text=True)
    return raw, list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))


def test_ledger_csv_is_excel_safe_with_chinese_headers(world, login):
    fund.post_donation(
        user=world.admin,
        amount="12.5",
        posted_on=dt.date(2026, 11, 20),
        receipt_number='=HYPERLINK("http://x")',
        donor_name="@恶意",
        purpose="+cmd",
    )
    raw, rows = _csv(login(world.admin))
    assert raw.startswith("\ufeff")
    header = rows[0]
    for label in ("日期", "记账类型", "收支方向", "金额（元）", "用途"):
        assert label in header
    row = next(r for r in rows[1:] if r[header.index("用途")] == "'+cmd")
    assert row[header.index("收据或凭证号")].startswith("'=")
    assert row[header.index("捐赠方或收款方")] == "'@恶意"
    assert row[header.index("日期")] == "2026-11-20"
    assert row[header.index("金额（元）")] == "12.50"
    signed = [r[header.index("收支金额（元，支出为负）")] for r in rows[1:]]
    assert any(v.startswith("-") and v[1:].replace(".", "").isdigit() for v in signed)


def test_ledger_xlsx_opens_and_holds_amounts_as_numbers(shared_world, shared_login):
    response = shared_login(shared_world.manager).get("/admin/ledger/export/xlsx/")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert "金额（元）" in header
    amounts = [r[header.index("金额（元）")] for r in rows[1:]]
    assert amounts and all(isinstance(a, int | float) and a > 0 for a in amounts)
    assert len(rows) - 1 == count(LedgerEntry)


@pytest.mark.parametrize("role", ["street_clerk", "district_manager"])
def test_ledger_export_holds_exactly_the_rows_in_scope(shared_world, shared_login, role):
    _raw, rows = _csv(shared_login(shared_world.user(role)))
    ids = {int(r[0]) for r in rows[1:]}
    stmt = select(LedgerEntry.id)
    if role == "street_clerk":
        street = shared_world.street.id
        stmt = stmt.where((LedgerEntry.street_id == street) | LedgerEntry.street_id.is_(None))
    assert ids == set(db.session.scalars(stmt))


@pytest.mark.parametrize("role", ["community_worker", "sponsor"])
def test_ledger_export_is_refused_outside_fund_readers(shared_world, shared_login, role):
    assert shared_login(shared_world.user(role)).get("/admin/ledger/export/csv/").status_code == 403


# ------------------------------------------------------------- support plans
def test_payee_phone_is_masked_in_lists_and_shown_to_those_who_may_edit(shared_world, shared_login):
    plan = shared_world.good_neighbour
    for role in ("district_admin", "district_manager", "street_clerk", "community_worker"):
        client = shared_login(shared_world.user(role))
        assert "13900001111" not in client.get("/admin/support_plan/").get_data(as_text=True)
        export = client.get("/admin/support_plan/export/csv/").get_data(as_text=True)
        assert "13900001111" not in export
    details = f"/admin/support_plan/details/?id={plan.id}"
    reveal = f"/admin/support_plan/reveal/?id={plan.id}"
    for user, may_see in ((shared_world.clerk, True), (shared_world.manager, False)):
        client = shared_login(user)
        # masked on the page until 显示; the reveal answers only those who may see it
        assert "13900001111" not in client.get(details).get_data(as_text=True)
        answer = client.post(
            reveal, data={"field": "payee_phone"}, headers={"Accept": "application/json"}
        )
        assert (answer.status_code == 200 and answer.get_json() == {"value": "13900001111"}) is (
            may_see
        )


def _plan_form(household, **extra):
    return {
        "name": "新的睦邻计划",
        "household": str(household.id),
        "payee_person": "邻居李阿姨",
        "payee_phone": "13900003333",
        "monthly_amount": "450",
        "unit_amount": "15",
        "unit": "餐",
        "starts_on": "2026-12-01",
        "ends_on": "2027-02-01",
        "status": "active",
        **extra,
    }


def test_a_clerk_creates_a_plan_with_its_months_and_agreement(world, login):
    household = make_household(world.community)
    response = login(world.clerk).post(
        "/admin/support_plan/new/",
        data=_plan_form(household, agreement_files=(io.BytesIO(jpeg()), "三方协议.jpg")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    plan = plan_named("新的睦邻计划")
    assert [m.month.month for m in plan.months] == [12, 1, 2]
    assert [f.kind for f in plan.files] == ["agreement"]


@pytest.mark.parametrize("role", ["street_clerk", "community_worker", "district_manager"])
def test_plans_cannot_be_made_outside_ones_scope(world, login, role):
    elsewhere = make_household(world.far_community)
    before = count(SupportPlan), count(PlanMonth)
    response = login(world.user(role)).post("/admin/support_plan/new/", data=_plan_form(elsewhere))
    assert response.status_code in (200, 403)
    assert (count(SupportPlan), count(PlanMonth)) == before


def test_a_plan_with_payments_cannot_be_deleted(world, good_neighbour, login):
    plan = good_neighbour
    response = login(world.admin).post("/admin/support_plan/delete/", data={"id": plan.id})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(SupportPlan, plan.id) is not None


# -------------------------------------------------------------- plan months
EVIDENCE = {
    "admin": 302,
    "manager": 403,
    "clerk": 302,
    "worker": 302,
    "sponsor": 403,
    "far_clerk": 404,
    "far_worker": 404,
}


@pytest.mark.parametrize("who", list(EVIDENCE))
def test_month_evidence_upload_by_every_role(world, good_neighbour, login, who):
    month = month_of(good_neighbour, "awaiting_evidence")
    files_before = count(StoredFile)
    response = login(getattr(world, who)).post(
        "/admin/plan_month/evidence/",
        data={
            "id": month.id,
            "units": "30",
            "photos": (io.BytesIO(jpeg()), "午餐.jpg"),
            "menus": (io.BytesIO(jpeg()), "菜单.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == EVIDENCE[who]
    db.session.expire_all()
    month = db.session.get(PlanMonth, month.id)
    if EVIDENCE[who] == 302:
        assert count(StoredFile) == files_before + 2
        assert (month.status, month.units) == ("evidence_uploaded", 30)
    else:
        assert count(StoredFile) == files_before and month.status == "awaiting_evidence"


CHECK = {
    "admin": 302,
    "manager": 403,
    "clerk": 302,
    "worker": 403,
    "sponsor": 403,
    "far_clerk": 404,
}


@pytest.mark.parametrize("who", list(CHECK))
def test_month_check_by_every_role(world, good_neighbour, login, who):
    month = month_of(good_neighbour, "awaiting_evidence")
    fund.upload_month_evidence(
        month,
        user=world.worker,
        photos=[("午餐.jpg", jpeg())],
        menus=[("菜单.jpg", jpeg())],
    )
    response = login(getattr(world, who)).post(
        "/admin/plan_month/check/", data={"id": month.id, "decision": "accept", "note": "好"}
    )
    assert response.status_code == CHECK[who]
    db.session.expire_all()
    expected = "checked" if CHECK[who] == 302 else "evidence_uploaded"
    assert db.session.get(PlanMonth, month.id).status == expected


@pytest.mark.parametrize("role", ROLES)
def test_month_payment_by_every_role(world, good_neighbour, login, role):
    month = month_of(good_neighbour, "checked")
    before = fund_balance()
    response = login(world.user(role)).post(
        "/admin/plan_month/pay/", data={"id": month.id, "posted_on": "2026-11-20"}
    )
    db.session.expire_all()
    month = db.session.get(PlanMonth, month.id)
    if role == "district_admin":
        assert response.status_code == 302
        assert month.status == "paid" and fund_balance() == before - 450
    else:
        assert response.status_code == 403
        assert month.status == "checked" and fund_balance() == before


def test_paying_an_unchecked_month_on_the_page_is_refused(world, good_neighbour, login):
    month = month_of(good_neighbour, "awaiting_evidence")
    before = fund_balance()
    response = login(world.admin).post(
        "/admin/plan_month/pay/", data={"id": month.id}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "本月佐证材料尚未审核通过" in response.get_data(as_text=True)
    assert fund_balance() == before
    assert login(world.admin).post("/admin/plan_month/pay/", data={"id": "x"}).status_code == 404


def test_month_details_show_the_right_forms(shared_world, shared_login):
    plan = shared_world.good_neighbour
    waiting = month_of(plan, "awaiting_evidence")
    checked = month_of(plan, "checked")
    worker = shared_login(shared_world.worker)
    page = worker.get(f"/admin/plan_month/details/?id={waiting.id}").get_data(as_text=True)
    assert 'id="month-evidence"' in page and 'id="month-check"' not in page
    clerk = shared_login(shared_world.clerk)
    page = clerk.get(f"/admin/plan_month/details/?id={waiting.id}").get_data(as_text=True)
    assert 'id="month-check"' in page and 'id="month-pay"' not in page
    admin = shared_login(shared_world.admin)
    page = admin.get(f"/admin/plan_month/details/?id={checked.id}").get_data(as_text=True)
    assert 'id="month-pay"' in page and "450.00" in page
    far = shared_world.far_plan.months[0]
    assert worker.get(f"/admin/plan_month/details/?id={far.id}").status_code == 404
    assert clerk.get(f"/admin/plan_month/details/?id={far.id}").status_code == 404
