"""Demo casework: who referred each household, home visits, and a status history
that leads to each household's status. Deterministic (seeded per household) and
idempotent (a household that already has history or visits is left alone).

Relative to the demo's fixed today (2026-11-01) some registered households are
overdue for their visit, some reopened cases are not yet, and many needs are open
for longer than a month.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from app.extensions import db
from app.models import Assessment, CaseTransition, Household, User
from app.models import choices as c

DEMO_TODAY = dt.date(2026, 11, 1)

RESIDENTS = ["邻居 张阿姨", "邻居 李师傅", "楼长 王大姐", "邻居 赵大爷", "居民 陈女士"]
FINDINGS = [
    "户主独居，行动不便，家中卫生条件一般。",
    "家中有慢性病人，长期服药，经济压力大。",
    "子女在外地工作，老人情绪低落，少与邻里来往。",
    "户主失业，家庭收入主要靠低保。",
    "房屋老旧，厨房和窗户需要维修。",
]
LIVING = ["老旧小区六楼，无电梯", "一楼，采光较差", "两室一厅，居住拥挤", None]
BENEFITS = ["城镇居民医疗保险", "低保金；城镇居民医疗保险", "重度残疾人护理补贴", None]


def referrer_for(channel: str, orgs: dict, index: int):
    """(organisation, person) who referred a demo household arriving by ``channel``."""
    if channel == "government_referral":
        name = "瑶海区民政局" if index % 2 else "瑶海区人社局就业服务中心"
        return orgs[name], None
    if channel == "hospital_referral":
        return orgs["瑶海区第一人民医院"], None
    if channel == "institution_referral":
        name = "合肥恒信建材有限公司" if index % 2 else "安徽瑞丰食品有限公司"
        return orgs[name], None
    if channel == "resident_referral":
        return None, RESIDENTS[index % len(RESIDENTS)]
    return None, None


def _at(day: dt.date, hour: int = 2) -> dt.datetime:
    """A UTC time on ``day`` (10:00 in Hefei by default)."""
    return dt.datetime.combine(day, dt.time(hour, 0))


def _users() -> dict:
    users = db.session.scalars(select(User).where(User.role != "sponsor")).all()
    return {u.username: u for u in users}


def _actor_for(household: Household, staff: list[User], admin: User | None) -> User | None:
    if household.assigned_worker is not None:
        return household.assigned_worker
    for user in staff:
        if user.role == "community_worker" and user.area_id == household.community_id:
            return user
    for user in staff:
        if user.role == "street_clerk" and user.area_id == household.street_id:
            return user
    return admin


def _severities(rng: random.Random, household: Household) -> dict[str, int]:
    needed = {n.dimension for n in household.needs}
    return {
        value: rng.randint(3, 5) if value in needed else rng.randint(1, 3)
        for value in c.values(c.NEED_DIMENSIONS)
    }


def _visit(rng, household, day, worker, severities) -> Assessment:
    visit = Assessment(
        household=household,
        visit_date=day,
        visiting_worker=worker if worker is not None and worker.role != "district_admin" else None,
        findings=rng.choice(FINDINGS),
        living_conditions=rng.choice(LIVING),
        benefits_found=rng.choice(BENEFITS),
        **{f"severity_{k}": v for k, v in severities.items()},
    )
    db.session.add(visit)
    return visit


def _move(household, frm, to, day, actor, note=None, hour=2) -> None:
    db.session.add(
        CaseTransition(
            household=household,
            from_status=frm,
            to_status=to,
            occurred_at=_at(day, hour),
            actor=actor,
            note=note,
        )
    )


def seed_casework(today: dt.date = DEMO_TODAY) -> None:
    """Visits and status history for every demo household that has none yet."""
    users = _users()
    staff = [u for u in users.values() if u.role in ("community_worker", "street_clerk")]
    admin = users.get("admin")
    done = set(db.session.scalars(select(CaseTransition.household_id).distinct()))
    done |= set(db.session.scalars(select(Assessment.household_id).distinct()))
    households = db.session.scalars(select(Household).order_by(Household.id)).all()
    for household in households:
        if household.id in done:
            continue
        rng = random.Random(f"casework-{household.head_id_number}")
        actor = _actor_for(household, staff, admin)
        _history(rng, household, actor, today)
    db.session.commit()


def _history(rng, household: Household, actor, today: dt.date) -> None:
    intake, status = household.intake_date, household.status
    span = (today - intake).days
    if span < 5:
        return
    if status == "registered":
        if span >= 40 and rng.random() < 0.3:
            _reopened(rng, household, actor, today)
        return  # awaiting the visit: overdue once 7 days have passed
    if status == "closed" and rng.random() < 0.2:
        _move(
            household,
            "registered",
            "closed",
            intake + dt.timedelta(days=2),
            actor,
            "户籍迁出，结案",
        )
        return
    first = intake + dt.timedelta(days=rng.randint(1, min(6, span - 3)))
    severities = _severities(rng, household)
    visit = _visit(rng, household, first, actor, severities)
    for need in household.needs:
        if need.assessment is None:
            need.assessment = visit
    _move(household, "registered", "assessed", first, actor, f"入户评估（{first:%Y-%m-%d}）")
    if status == "assessed":
        return
    left = (today - first).days
    helping = first + dt.timedelta(days=rng.randint(1, max(1, left // 2)))
    _move(household, "assessed", "helping", helping, actor, "制定帮扶计划")
    left = (today - helping).days
    if left >= 2 and rng.random() < 0.6:
        second = helping + dt.timedelta(days=rng.randint(1, left - 1))
        changed = {k: min(5, max(1, v - rng.choice([0, 1, 1, 2]))) for k, v in severities.items()}
        _visit(rng, household, second, actor, changed)
        helping = second
    if status == "closed":
        closed = helping + dt.timedelta(days=rng.randint(0, max(0, (today - helping).days)))
        _move(household, "helping", "closed", closed, actor, "帮扶目标达成，结案", hour=8)


def _reopened(rng, household: Household, actor, today: dt.date) -> None:
    """A case helped, closed, and reopened: a new visit is due since the reopening."""
    intake = household.intake_date
    first = intake + dt.timedelta(days=2)
    _visit(rng, household, first, actor, _severities(rng, household))
    _move(household, "registered", "assessed", first, actor, f"入户评估（{first:%Y-%m-%d}）")
    _move(household, "assessed", "helping", first + dt.timedelta(days=3), actor, "制定帮扶计划")
    _move(
        household, "helping", "closed", first + dt.timedelta(days=20), actor, "帮扶目标达成，结案"
    )
    reopened = today - dt.timedelta(days=rng.randint(2, 12))
    _move(household, "closed", "registered", reopened, actor, "再次求助，重新开案")
