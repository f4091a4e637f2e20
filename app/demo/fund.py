"""Demo rows for the special fund: an account, donations, disbursements with
evidence, one reversal and two support plans (one of them the good-neighbour plan
of the report: 450 yuan a month, 15 yuan a meal, three months — one paid, one
checked, one still without evidence). Deterministic; does nothing the second time.
"""

import datetime as dt
import io
from decimal import Decimal

from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import Area, Household, LedgerEntry, Organisation, Pledge, Project, User
from app.services import fund


def _image(color, fmt="JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(out, format=fmt)
    return out.getvalue()


def _one(model, *where):
    return db.session.scalar(select(model).where(*where).order_by(model.id))


def seed_fund() -> int:
    """Create the demo fund; returns the number of ledger entries made."""
    if db.session.scalar(select(LedgerEntry.id).limit(1)) is not None:
        return 0
    admin = _one(User, User.username == "admin")
    clerk = _one(User, User.username == "chengdong")
    worker = _one(User, User.username == "worker")
    heping, zhanxi = _one(Area, Area.name == "和平社区"), _one(Area, Area.name == "站西社区")
    chengdong, mingguang = (
        _one(Area, Area.name == "城东街道"),
        _one(Area, Area.name == "明光路街道"),
    )
    if None in (admin, clerk, worker, heping, zhanxi, chengdong, mingguang):
        return 0
    org = {o.name: o for o in db.session.scalars(select(Organisation))}
    foundation = org["瑶海区爱心慈善救助基金会"]
    ruifeng = org["安徽瑞丰食品有限公司"]
    volunteers = org["晨光志愿者协会"]
    disability = org["瑶海区助残服务社"]
    east = _one(Project, Project.street_id == chengdong.id)
    west = _one(Project, Project.street_id == mingguang.id)
    home = _one(Household, Household.community_id == heping.id)
    far = _one(Household, Household.community_id == zhanxi.id) or _one(
        Household, Household.street_id != chengdong.id
    )
    if None in (east, west, home, far):
        return 0
    receipt = [("收据.jpg", _image((230, 230, 230)))]

    fund.post_donation(
        user=admin,
        amount=Decimal("100000"),
        posted_on=dt.date(2026, 1, 10),
        receipt_number="JJH-2026-0001",
        donor_organisation=foundation,
        purpose="年度社会救助专项资金",
        files=receipt,
    )
    fund.post_donation(
        user=admin,
        amount=Decimal("20000"),
        posted_on=dt.date(2026, 3, 2),
        receipt_number="JJH-2026-0002",
        donor_organisation=ruifeng,
        project=east,
        purpose="定向捐赠",
    )
    fund.post_donation(
        user=admin,
        amount=Decimal("500"),
        posted_on=dt.date(2026, 4, 18),
        receipt_number="JJH-2026-0003",
        donor_name="刘先生",
        purpose="个人捐赠",
    )
    # a sponsor's approved money pledge, when the sponsorship demo made one
    pledge = _one(Pledge, Pledge.status == "approved", Pledge.kind == "money")
    if pledge is not None and fund.pledge_outstanding(pledge) > 0:
        fund.post_donation(
            user=admin,
            amount=fund.pledge_outstanding(pledge),
            posted_on=dt.date(2026, 5, 6),
            receipt_number="JJH-2026-0004",
            pledge=pledge,
            purpose="认领项目资金到账",
        )

    fund.post_disbursement(
        user=admin,
        amount=Decimal("6000"),
        posted_on=dt.date(2026, 4, 1),
        purpose="助餐设备采购",
        project=east,
        payee_organisation=volunteers,
        receipt_number="ZC-2026-0001",
        files=[("发票.jpg", _image((250, 240, 200)))],
    )
    fund.post_disbursement(
        user=admin,
        amount=Decimal("3000"),
        posted_on=dt.date(2026, 5, 12),
        purpose="纱窗更换材料费",
        project=west,
        payee_organisation=volunteers,
        receipt_number="ZC-2026-0002",
        files=[("材料单.jpg", _image((200, 220, 250)))],
    )
    fund.post_disbursement(
        user=admin,
        amount=Decimal("1800"),
        posted_on=dt.date(2026, 6, 3),
        purpose="轮椅一台",
        household=far,
        payee_organisation=disability,
        receipt_number="ZC-2026-0003",
        files=[("轮椅发票.jpg", _image((220, 250, 220)))],
    )
    twice = fund.post_disbursement(
        user=admin,
        amount=Decimal("3000"),
        posted_on=dt.date(2026, 5, 13),
        purpose="纱窗更换材料费",
        project=west,
        payee_organisation=volunteers,
        receipt_number="ZC-2026-0002",
        files=[("材料单.jpg", _image((200, 220, 250)))],
    )
    fund.reverse_entry(twice, user=admin, reason="重复录入，冲正", posted_on=dt.date(2026, 5, 14))

    plan = fund.create_plan(
        user=clerk,
        household=home,
        name="睦邻计划·邻居做午餐",
        description="三方协议：受助家庭、邻居、静安社工服务中心；邻居每天做午餐。",
        monthly_amount=Decimal("450"),
        unit_amount=Decimal("15"),
        unit="餐",
        payee_person="陈阿姨",
        payee_phone="13900001111",
        starts_on=dt.date(2026, 8, 1),
        ends_on=dt.date(2026, 10, 1),
        agreement_files=[("三方协议.jpg", _image((255, 255, 255)))],
    )
    august, september, _october = plan.months
    for month, color in ((august, (240, 200, 160)), (september, (230, 190, 150))):
        fund.upload_month_evidence(
            month,
            user=worker,
            photos=[(f"午餐{month.month:%m}.jpg", _image(color))],
            menus=[(f"菜单{month.month:%m}.png", _image((255, 255, 240), "PNG"))],
            units=30,
        )
        fund.check_month(month, user=clerk, accept=True, note="照片与菜单相符")
    fund.pay_plan_month(
        august, user=admin, posted_on=dt.date(2026, 9, 5), receipt_number="ZC-2026-0008"
    )
    fund.create_plan(
        user=admin,
        household=far,
        name="助浴上门服务",
        monthly_amount=Decimal("200"),
        payee_organisation=disability,
        starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2026, 12, 1),
    )
    return db.session.scalar(select(db.func.count(LedgerEntry.id)))
