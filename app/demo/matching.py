"""Demo rows for matching and service records: resource categories, a policy
resource, matches in every community (capacity taken through the matching service),
and service records with small generated evidence photos.

Deterministic and idempotent like ``seed_demo``: rows are looked up before they are
made, and the pictures are drawn from fixed colours.
"""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image, ImageDraw
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Area,
    Household,
    Need,
    NeedMatch,
    Organisation,
    Project,
    Resource,
    ServiceRecord,
    User,
)
from app.services import casework_records, matching

RESOURCE_CATEGORIES = {
    "医疗救助绿色通道": "medical",
    "就业岗位推荐": "employment_guidance",
    "社会救助专项基金": "financial",
    "个案咨询与辅导": "counselling",
    "志愿者上门维修": "home_repair",
    "冬季米面油": "warm_pack",
    "睦邻午餐（每月450元）": "meals",
    "轮椅": "assistive_device",
}
POLICY_RESOURCE = "救助政策咨询"
MATCHES_PER_COMMUNITY = 2
SERVICE_TEXT = {
    "medical": "陪同就医并协助办理医疗救助",
    "nursing": "上门护理一次",
    "assistive_device": "送达轮椅并指导使用",
    "counselling": "社工上门个案辅导",
    "employment_guidance": "就业指导面谈并推荐岗位",
    "meals": "邻居送午餐（按餐记录）",
    "home_repair": "更换纱窗",
    "warm_pack": "送温暖服务包（米面油）",
    "financial": "发放临时救助金",
    "policy": "讲解救助政策并协助申请",
    "other": "上门走访",
}


def demo_photo(seed: int, label: str = "") -> bytes:
    """A tiny JPEG drawn from ``seed``: the same bytes every time."""
    colours = [(214, 93, 60), (66, 133, 180), (96, 160, 90), (230, 180, 60), (140, 100, 170)]
    image = Image.new("RGB", (96, 72), colours[seed % len(colours)])
    draw = ImageDraw.Draw(image)
    draw.rectangle((12 + seed % 20, 14, 60 + seed % 20, 58), outline=(255, 255, 255), width=3)
    draw.line((0, 70, 96, 70 - seed % 30), fill=(40, 40, 40), width=2)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


def _policy_resource(district: Area) -> None:
    if db.session.scalar(select(Resource.id).where(Resource.name == POLICY_RESOURCE)):
        return
    bureau = db.session.scalar(select(Organisation).where(Organisation.name == "瑶海区民政局"))
    db.session.add(
        Resource(
            name=POLICY_RESOURCE,
            kind="policy",
            category="policy",
            provider_organisation=bureau,
            description="低保、特困、临时救助等政策的讲解与申请协助",
            available_from=dt.date(2026, 1, 1),
            status="available",
            served_areas=[district],
        )
    )


def _matches(admin: User, communities: list[Area], today: dt.date) -> list[NeedMatch]:
    made = []
    for community in communities:
        have = db.session.scalar(
            select(func.count())
            .select_from(NeedMatch)
            .where(NeedMatch.community_id == community.id)
        )
        wanted = MATCHES_PER_COMMUNITY - (have or 0)
        if wanted <= 0:
            continue
        unmatched = ~Need.id.in_(select(NeedMatch.need_id))
        candidates = list(
            db.session.scalars(
                select(Need)
                .where(
                    Need.community_id == community.id,
                    Need.status.in_(("matched", "in_progress")),
                    unmatched,
                )
                .order_by(Need.id)
            )
        ) + list(
            db.session.scalars(
                select(Need)
                .where(Need.community_id == community.id, Need.status == "open", unmatched)
                .order_by(Need.id)
            )
        )
        for need in candidates:
            if wanted <= 0:
                break
            suggestions = matching.suggest_resources(need, admin, today=today)
            # demo matches are of the same category: clear to read for newcomers
            best = next((s for s in suggestions if s.item.category == need.category), None)
            if best is None:
                continue
            made.append(
                matching.record_match(
                    need, best.item, quantity=1, reason="；".join(best.reasons), today=today
                )
            )
            wanted -= 1
    return made


def _service_records(admin: User, matches: list[NeedMatch], today: dt.date) -> None:
    for i, match in enumerate(matches):
        if i % 2:  # help delivered for every other match
            continue
        need, resource = match.need, match.resource
        description = SERVICE_TEXT.get(need.category, "上门服务")
        delivered_on = today - dt.timedelta(days=3 + i)
        exists = db.session.scalar(
            select(ServiceRecord.id).where(
                ServiceRecord.household_id == need.household_id,
                ServiceRecord.description == description,
                ServiceRecord.delivered_on == delivered_on,
            )
        )
        if exists:
            continue
        evidence = [(f"服务照片{i + 1}.jpg", demo_photo(i))]
        if need.category in ("meals", "warm_pack"):
            evidence.append((f"签收单{i + 1}.jpg", demo_photo(i + 1)))
        casework_records.record_service(
            need.household,
            user=admin,
            description=description,
            delivered_on=delivered_on,
            needs=[need],
            resource=resource,
            provider_organisation=resource.provider_organisation,
            provider_person=resource.provider_person,
            provider_phone=resource.provider_phone,
            quantity=match.quantity,
            unit=resource.unit,
            evidence=evidence,
            evidence_kind="photo",
            evidence_caption=description,
            mark_needs_met=i % 4 == 0,
        )
        if i % 4:
            need.status = "in_progress"


def _sponsor_visible_record(admin: User, today: dt.date) -> None:
    """A household project of the demo sponsor gets a service record with a photo its
    sponsors may see (no faces, no personal data)."""
    sponsor = db.session.scalar(select(User).where(User.username == "sponsor"))
    if sponsor is None or sponsor.organisation is None:
        return
    project = db.session.scalar(
        select(Project)
        .where(Project.sponsors.contains(sponsor.organisation), Project.level == "household")
        .order_by(Project.id)
    )
    if project is None or not project.beneficiaries:
        return
    household: Household = project.beneficiaries[0]
    description = "项目物资送达（纱窗与扶手）"
    if db.session.scalar(
        select(ServiceRecord.id).where(
            ServiceRecord.project_id == project.id, ServiceRecord.description == description
        )
    ):
        return
    record = casework_records.record_service(
        household,
        user=admin,
        description=description,
        delivered_on=today - dt.timedelta(days=10),
        project=project,
        provider_organisation=sponsor.organisation,
        evidence=[("安装后的纱窗.jpg", demo_photo(7))],
        evidence_caption="安装后的纱窗（无人像）",
    )
    for stored in record.files:
        casework_records.set_file_shareable(stored, user=admin, is_shareable=True)


def seed_matching(today: dt.date) -> None:
    """Add the matching and service-record demo rows (after the rest of the demo)."""
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    district = db.session.scalar(select(Area).where(Area.level == "district"))
    for name, category in RESOURCE_CATEGORIES.items():
        resource = db.session.scalar(select(Resource).where(Resource.name == name))
        if resource is not None and resource.category is None:
            resource.category = category
    _policy_resource(district)
    db.session.flush()
    communities = list(
        db.session.scalars(select(Area).where(Area.level == "community").order_by(Area.id))
    )
    matches = _matches(admin, communities, today)
    _service_records(admin, matches, today)
    _sponsor_visible_record(admin, today)
    db.session.commit()
