"""A realistic, fictitious Yaohai district for demos and tests.

Everything is derived from a fixed random seed, and every row is looked up by a
natural key before it is created, so running ``seed_demo`` twice changes nothing.
Names, ID numbers and phones are invented (ID numbers valid by check digit).
"""

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select

from app.demo.casework import referrer_for, seed_casework
from app.demo.fund import seed_fund
from app.demo.matching import seed_matching
from app.demo.pledges import seed_pledges
from app.extensions import db
from app.models import (
    Area,
    HardshipCategory,
    Household,
    Member,
    Need,
    Organisation,
    Project,
    Resource,
    User,
)
from app.models import choices as c
from app.validation import id_check_digit

DEMO_PASSWORD = "yijia-demo-2019"
REGION_CODE = "340102"  # 合肥市瑶海区

STREETS = {
    "城东街道": ["和平社区", "东郢社区", "新海社区", "周谷堆社区"],
    "明光路街道": ["明光社区", "胜利广场社区", "长淮社区"],
    "胜利路街道": ["胜利社区", "红光社区", "当涂社区", "铜陵路社区"],
    "七里站街道": ["七里站社区", "站西社区", "北二社区", "嘉山路社区", "和顺社区"],
}

CATEGORIES = [
    ("dibao", "低保"),
    ("tekun", "特困"),
    ("dibao_edge", "低保边缘"),
    ("expenditure", "支出型贫困"),
    ("disability", "残疾"),
    ("serious_illness", "大病"),
    ("elderly_alone", "独居老人"),
]

ORGANISATIONS = [
    ("瑶海区民政局", "government", "王主任", "0551-64200001"),
    ("瑶海区人社局就业服务中心", "government", "李科长", "0551-64200002"),
    ("瑶海区第一人民医院", "hospital", "赵医生", "0551-64200003"),
    ("瑶海区爱心慈善救助基金会", "foundation", "钱秘书长", "0551-64200004"),
    ("静安社工服务中心", "social_work_centre", "孙主任", "0551-64200005"),
    ("晨光志愿者协会", "volunteer_group", "周会长", "0551-64200006", "城东街道"),
    ("合肥恒信建材有限公司", "enterprise", "吴经理", "0551-64200007"),
    ("安徽瑞丰食品有限公司", "enterprise", "郑经理", "0551-64200008"),
    ("瑶海区助残服务社", "social_org", "冯社长", "0551-64200009", "胜利路街道"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "秀英桂兰玉梅建国志强海燕丽娟明辉春花永红德胜淑珍国华凤英晓东文杰金花宝山翠兰家豪子涵欣怡浩然雨轩思远静怡俊杰"

NEED_TEXT = {
    "physiological": [
        ("medical", "慢性病长期服药，自付费用负担重"),
        ("nursing", "卧床需定期上门护理"),
        ("assistive_device", "行动不便，需要轮椅"),
    ],
    "psychological": [
        ("counselling", "丧偶后情绪低落，需要心理疏导"),
        ("counselling", "子女长期在外，孤独感强"),
    ],
    "social": [("policy", "不了解可申请的救助政策"), ("warm_pack", "节日期间需要走访慰问")],
    "daily_living": [
        ("meals", "无人做饭，需要助餐送餐"),
        ("home_repair", "纱窗破损需要更换"),
        ("home_repair", "厨房水管老化漏水"),
    ],
    "employment": [
        ("employment_guidance", "失业半年，需要就业指导"),
        ("employment_guidance", "希望参加技能培训"),
    ],
}

PROJECT_TEMPLATES = [
    ("温暖服务包", "material", "为困难家庭送去米面油和冬衣"),
    ("睦邻助餐计划", "service", "邻居每日做午餐送到卧床居民家中，按餐补贴"),
    ("助行轮椅", "material", "为肢体残疾居民配置轮椅"),
    ("居家安全改造", "service", "为独居老人更换纱窗、加装扶手"),
    ("大病医疗救助", "medical", "对大病患者自付医疗费用给予补助"),
    ("就业帮扶计划", "policy", "就业指导与技能培训对接"),
    ("心理关爱行动", "service", "社工上门开展个案咨询与辅导"),
]


def make_id_number(rng: random.Random, birth: dt.date, male: bool) -> str:
    """A valid, invented resident ID number (odd 17th digit for men)."""
    parity = [1, 3, 5, 7, 9] if male else [0, 2, 4, 6, 8]
    seq = rng.randint(0, 99) * 10 + rng.choice(parity)
    first17 = f"{REGION_CODE}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


def _fresh(number: str, used: set) -> str | None:
    """The number, unless already used by someone in this run (then no number)."""
    if number in used:
        return None
    used.add(number)
    return number


def _get_or_create(model, defaults=None, **keys):
    obj = db.session.scalar(select(model).filter_by(**keys))
    if obj is None:
        obj = model(**keys, **(defaults or {}))
        db.session.add(obj)
        db.session.flush()
    return obj


def _random_birth(rng, lo_age, hi_age, today):
    return today - dt.timedelta(days=rng.randint(lo_age * 365, hi_age * 365))


def seed_demo(households: int = 100) -> dict:
    """Create (or complete) the demo district. Returns counts of rows created."""
    rng = random.Random(2019)
    today = dt.date(2026, 11, 1)
    before = {m.__name__: db.session.query(m).count() for m in (Area, Household, Project, User)}

    district = _get_or_create(
        Area, name="瑶海区", level="district", parent_id=None, defaults={"code": "340102"}
    )
    streets, communities = [], []
    for street_name, names in STREETS.items():
        street = _get_or_create(Area, name=street_name, level="street", parent_id=district.id)
        streets.append(street)
        for name in names:
            communities.append(
                _get_or_create(Area, name=name, level="community", parent_id=street.id)
            )
    chengdong = streets[0]

    categories = {}
    for order, (code, name) in enumerate(CATEGORIES):
        categories[code] = _get_or_create(
            HardshipCategory, code=code, defaults={"name": name, "sort_order": order}
        )

    orgs = {}
    by_name = {s.name: s for s in streets}
    for name, kind, person, phone, *street_name in ORGANISATIONS:
        # organisations registered by a street office belong to that street
        orgs[name] = _get_or_create(
            Organisation,
            name=name,
            defaults={
                "kind": kind,
                "contact_person": person,
                "contact_phone": phone,
                "address": "合肥市瑶海区",
                "street": by_name[street_name[0]] if street_name else None,
            },
        )
    sponsor_org = orgs["合肥恒信建材有限公司"]

    def user(username, full_name, role, area=None, organisation=None):
        u = db.session.scalar(select(User).where(User.username == username))
        if u is None:
            u = User(
                username=username,
                full_name=full_name,
                role=role,
                area=area,
                organisation=organisation,
                is_active=True,
            )
            u.set_password(DEMO_PASSWORD)
            db.session.add(u)
            db.session.flush()
        return u

    user("admin", "区民政局管理员", "district_admin", district)
    user("manager", "区民政局科长", "district_manager", district)
    user("chengdong", "城东街道办事员", "street_clerk", chengdong)
    worker = user("worker", "和平社区社工", "community_worker", communities[0])
    user("sponsor", "恒信建材联络人", "sponsor", organisation=sponsor_org)
    user("sponsor2", "瑞丰食品联络人", "sponsor", organisation=orgs["安徽瑞丰食品有限公司"])
    user("mingguang", "明光路街道办事员", "street_clerk", streets[1])
    user("worker2", "站西社区社工", "community_worker", communities[-4])

    # Households, spread over every community.
    made = []
    used: set[str] = set()
    existing_numbers = set(db.session.scalars(select(Household.head_id_number)))
    for i in range(households):
        community = communities[i % len(communities)]
        male = rng.random() < 0.5
        birth = _random_birth(rng, 25, 88, today)
        number = make_id_number(rng, birth, male)
        used.add(number)
        head_name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice([1, 2])))
        cats = rng.sample(list(categories.values()), rng.choice([1, 1, 2]))
        disabled = categories["disability"] in cats
        exists = number in existing_numbers
        hh = Household(
            head_name=head_name,
            head_id_number=number,
            head_phone=f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
            address=f"{community.name}{rng.randint(1, 40)}栋{rng.randint(1, 6)}单元{rng.randint(101, 702)}室",
            community=community,
            categories=cats,
            disability_type=rng.choice(["physical", "visual", "intellectual"])
            if disabled
            else None,
            disability_grade=rng.randint(1, 4) if disabled else None,
            monthly_income=Decimal(rng.randint(0, 2400)),
            existing_support=rng.choice(
                [
                    "城镇居民医疗保险",
                    "城镇居民医疗保险；重度残疾人护理补贴",
                    "城镇居民医疗保险；养老金",
                    None,
                ]
            ),
            intake_channel=rng.choice(c.values(c.INTAKE_CHANNELS)),
            intake_date=today - dt.timedelta(days=rng.randint(5, 600)),
            status=rng.choice(["registered", "assessed", "helping", "helping", "closed"]),
            assigned_worker=worker if community.id == worker.area_id else None,
            notes=None,
        )
        hh.referrer_organisation, hh.referrer_person = referrer_for(hh.intake_channel, orgs, i)
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            m_male = rng.random() < 0.5
            m_birth = _random_birth(rng, 3, 80, today)
            hh.members.append(
                Member(
                    name=head_name[0] + "".join(rng.sample(GIVEN, 2)),
                    relation=rng.choice(["spouse", "child", "parent", "grandchild"]),
                    id_number=_fresh(make_id_number(rng, m_birth, m_male), used)
                    if rng.random() < 0.8
                    else None,
                    health=rng.choice(["健康", "高血压", "糖尿病", "术后康复", None]),
                    employment=rng.choice(c.values(c.EMPLOYMENT_STATUSES)),
                )
            )
        for _ in range(rng.choice([1, 1, 2, 3])):
            dimension = rng.choice(c.values(c.NEED_DIMENSIONS))
            category, text = rng.choice(NEED_TEXT[dimension])
            hh.needs.append(
                Need(
                    dimension=dimension,
                    category=category,
                    description=text,
                    urgency=rng.choice(c.values(c.URGENCIES)),
                    status=rng.choice(
                        ["open", "open", "matched", "in_progress", "met", "withdrawn"]
                    ),
                    identified_on=hh.intake_date + dt.timedelta(days=rng.randint(0, 4)),
                )
            )
        if exists:  # made again only to keep the random sequence identical
            made.append(None)
            continue
        db.session.add(hh)
        made.append(hh)
    db.session.flush()
    # Every dimension has an open need somewhere.
    for dimension in c.values(c.NEED_DIMENSIONS):
        if not db.session.scalar(select(Need.id).where(Need.dimension == dimension)):
            hh = next(h for h in made if h is not None)
            category, text = NEED_TEXT[dimension][0]
            hh.needs.append(
                Need(
                    dimension=dimension,
                    category=category,
                    description=text,
                    identified_on=hh.intake_date,
                )
            )

    # Resources from several kinds of provider.
    resource_specs = [
        ("医疗救助绿色通道", "medical", "瑶海区第一人民医院", None, None, None),
        ("就业岗位推荐", "employment", "瑶海区人社局就业服务中心", None, None, None),
        ("社会救助专项基金", "funds", "瑶海区爱心慈善救助基金会", None, None, Decimal("200000")),
        ("个案咨询与辅导", "service", "静安社工服务中心", None, None, None),
        ("志愿者上门维修", "service", "晨光志愿者协会", chengdong, None, None),
        ("冬季米面油", "material", "安徽瑞丰食品有限公司", chengdong, None, Decimal("30000")),
        ("睦邻午餐（每月450元）", "service", None, chengdong, communities[0], Decimal("450")),
        ("轮椅", "material", "瑶海区助残服务社", streets[2], None, Decimal("6000")),
    ]
    for name, kind, org_name, street, community, value in resource_specs:
        existing = db.session.scalar(select(Resource).where(Resource.name == name))
        if existing:
            continue
        db.session.add(
            Resource(
                name=name,
                kind=kind,
                provider_organisation=orgs.get(org_name) if org_name else None,
                provider_person=None if org_name else "邻居 陈阿姨",
                provider_phone=None if org_name else "13900001111",
                description=name,
                value_yuan=value,
                quantity=Decimal(10) if kind == "material" else None,
                unit="份" if kind == "material" else None,
                available_from=dt.date(2026, 1, 1),
                status="available",
                street=street,
                community=community,
                served_areas=[community or street or district],
            )
        )

    # 25 projects: one community project per community (first 18), household projects
    # for the rest, in every status.
    statuses = c.values(c.PROJECT_STATUSES)
    live = [h for h in made if h is not None]
    for i in range(25):
        template_name, help_kind, text = PROJECT_TEMPLATES[i % len(PROJECT_TEMPLATES)]
        community = communities[i % len(communities)]
        level = "community" if i < len(communities) else "household"
        name = f"{community.name}{template_name}（{i + 1:02d}）"
        if db.session.scalar(select(Project.id).where(Project.name == name)):
            continue
        project = Project(
            name=name,
            level=level,
            help_kind=help_kind,
            description=text,
            public_summary=f"{community.name}{text}。",
            budget=Decimal(rng.choice([3000, 5400, 8000, 12000, 20000])),
            status=statuses[i % len(statuses)],
            starts_on=dt.date(2026, 3, 1),
            ends_on=dt.date(2026, 12, 31),
            community=community,
        )
        if level == "household":
            local = [h for h in live if h.community_id == community.id][:2]
            project.beneficiaries = local
        if project.status in ("claimed", "in_progress", "completed"):
            project.sponsors = [sponsor_org if i % 2 else orgs["安徽瑞丰食品有限公司"]]
        db.session.add(project)

    db.session.commit()
    seed_casework()
    seed_matching(today)  # matches and service records: app/services/demo_matching.py
    seed_pledges()
    seed_fund()
    after = {m.__name__: db.session.query(m).count() for m in (Area, Household, Project, User)}
    return {k: after[k] - before[k] for k in after}
