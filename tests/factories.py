"""Builders for the rows a test needs, so that a test says its situation in a line or
two and does not depend on the demo district's names or counts::

    street = make_street()
    clerk = make_user("street_clerk", area=street)
    household = make_household(make_community(street), status="helping")

Each ``make_*`` builds one valid row through the model, so the model's rules and the
session hooks (derived areas, ``check_consistency``) run exactly as for any other
save; it adds the row and flushes, and the test commits when a request must see it
(the ``login`` fixture commits for you). Defaults are the plainest valid row; pass
keyword overrides for what the test is about. Names, usernames and ID numbers are
unique per call.

Small functions rather than factory_boy: the rows need the session's hooks and a few
service building blocks (plan months, capacity of a match), which plain functions
call in the open; nothing here needs factory_boy's lazy attributes or traits.

Also here, so that no test module keeps its own copy: ``jpeg()``/``png()``/``webp()``/
``pdf()`` bytes, ``count()`` of rows, ``count_queries()``, and ``fund_balance()``.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import event, func, select
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import (
    Area,
    Assessment,
    Household,
    Member,
    Need,
    NeedMatch,
    Organisation,
    Pledge,
    Project,
    Resource,
    ServiceRecord,
    SupportPlan,
    User,
)
from app.validation import id_check_digit

#: every user made here logs in with this password
PASSWORD = "factory-password-2026"
# one cheap hash for all of them: the real default (scrypt) costs ~50 ms per user
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")

#: a severity per need dimension, 1 (slight) to 5 (severe), for visits
SEVERITIES = {
    "physiological": 4,
    "psychological": 3,
    "social": 2,
    "daily_living": 5,
    "employment": 1,
}

#: the usual day households in these tests reached the programme
INTAKE = dt.date(2026, 10, 1)

_serial = itertools.count(1)


def _n() -> int:
    return next(_serial)


def _save(row):
    db.session.add(row)
    db.session.flush()
    return row


# ------------------------------------------------------------------ identities
def new_id_number(*, male: bool | None = None) -> str:
    """A valid GB 11643 resident ID number, different on every call (born between
    1940 and 2022 in Beijing's 东城区; odd 17th digit for men)."""
    n = _n()
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=n % 30000)
    if male is None:
        male = bool(n % 2)
    sequence = f"{(n // 30000) % 100:02d}{2 * (n % 5) + (1 if male else 0)}"
    first17 = f"110101{birth:%Y%m%d}{sequence}"
    return first17 + id_check_digit(first17)


def new_phone() -> str:
    """A mainland mobile number, different on every call."""
    return f"139{_n() % 10**8:08d}"


# ----------------------------------------------------------------------- areas
def make_district(name: str = "测试区") -> Area:
    """The district: a database holds one, so this makes it on the first call and
    returns the same row after."""
    existing = db.session.scalar(select(Area).where(Area.level == "district"))
    if existing is not None:
        return existing
    return _save(Area(name=name, level="district"))


def make_street(name: str | None = None, *, district: Area | None = None) -> Area:
    return _save(
        Area(name=name or f"测试{_n()}街道", level="street", parent=district or make_district())
    )


def make_community(street: Area | None = None, *, name: str | None = None) -> Area:
    """A community of ``street`` (of a new street when none is given)."""
    return _save(
        Area(name=name or f"测试{_n()}社区", level="community", parent=street or make_street())
    )


# ------------------------------------------------------------ people and orgs
def make_organisation(
    kind: str = "enterprise", *, name: str | None = None, street: Area | None = None, **overrides
) -> Organisation:
    """An organisation of the district (of ``street`` when given)."""
    return _save(
        Organisation(name=name or f"测试机构{_n()}", kind=kind, street=street, **overrides)
    )


#: the area level each role is attached to, and how to make one
_AREA_FOR_ROLE = {
    "district_admin": make_district,
    "district_manager": make_district,
    "street_clerk": make_street,
    "community_worker": make_community,
}


def make_user(
    role: str,
    *,
    area: Area | None = None,
    organisation: Organisation | None = None,
    username: str | None = None,
    **overrides,
) -> User:
    """A user of ``role`` who logs in with ``PASSWORD``. Staff get an area of their
    role's level (a new one unless given); a sponsor an enterprise (new unless given)."""
    if role == "sponsor":
        organisation = organisation or make_organisation("enterprise")
    elif area is None:
        area = _AREA_FOR_ROLE[role]()
    n = _n()
    user = User(
        username=username or f"{role}-{n}",
        full_name=overrides.pop("full_name", f"测试用户{n}"),
        role=role,
        area=area,
        organisation=organisation,
        is_active=overrides.pop("is_active", True),
        **overrides,
    )
    user.password_hash = _PASSWORD_HASH
    return _save(user)


# ------------------------------------------------------------------ households
def make_household(community: Area | None = None, **overrides) -> Household:
    """A household in ``community`` (in a new community when none is given),
    registered on ``INTAKE`` and asking for help itself. New rows may start in any
    status (``status=``); only a saved household's status moves through a transition."""
    community = community or make_community()
    n = _n()
    values = {
        "head_name": f"户主{n}",
        "head_id_number": new_id_number(),
        "head_phone": new_phone(),
        "address": f"{community.name}{n}栋",
        "intake_channel": "self_request",
        "intake_date": INTAKE,
        "status": "registered",
        **overrides,
    }
    return _save(Household(community=community, **values))


def make_member(household: Household, **overrides) -> Member:
    values = {
        "name": f"成员{_n()}",
        "relation": "spouse",
        "id_number": new_id_number(),
        **overrides,
    }
    member = Member(**values)
    household.members.append(member)
    db.session.flush()
    return member


def make_need(household: Household, **overrides) -> Need:
    """An open daily-living need (meals), identified on the household's intake day."""
    values = {
        "dimension": "daily_living",
        "category": "meals",
        "description": f"需要助餐{_n()}",
        "urgency": "normal",
        "status": "open",
        "identified_on": household.intake_date,
        **overrides,
    }
    need = Need(**values)
    household.needs.append(need)
    db.session.flush()
    return need


def make_assessment(household: Household, **overrides) -> Assessment:
    """A home visit two days after intake (today at the latest), with ``SEVERITIES``;
    ``severities={...}`` replaces them. Written directly: the case status is not moved
    (``casework.record_assessment`` does that)."""
    severities = {**SEVERITIES, **overrides.pop("severities", {})}
    visit_date = overrides.pop(
        "visit_date", min(household.intake_date + dt.timedelta(days=2), dt.date.today())
    )
    values = {"findings": f"入户发现{_n()}", **overrides}
    values.update({f"severity_{k}": v for k, v in severities.items()})
    return _save(Assessment(household=household, visit_date=visit_date, **values))


# ------------------------------------------------------------------- resources
def make_resource(*, served: Iterable[Area] = (), **overrides) -> Resource:
    """An unlimited service (meals) from a named person, available all of 2026, owned
    by the district unless ``street=``/``community=`` say otherwise; ``served`` lists
    the areas it serves (none: the owner's area)."""
    values = {
        "name": f"测试资源{_n()}",
        "kind": "service",
        "category": "meals",
        "provider_person": "测试提供者",
        "available_from": dt.date(2026, 1, 1),
        "status": "available",
        **overrides,
    }
    return _save(Resource(served_areas=list(served), **values))


def make_match(need: Need, resource: Resource, *, quantity=1, **kwargs) -> NeedMatch:
    """An active match, taking capacity through ``matching.record_match`` (no access
    check) so the resource's used quantity stays the sum of its matches."""
    from app.services import matching

    kwargs.setdefault("today", max(resource.available_from, need.identified_on))
    match = matching.record_match(need, resource, quantity=quantity, **kwargs)
    db.session.flush()
    return match


def make_service_record(household: Household, **overrides) -> ServiceRecord:
    values = {
        "delivered_on": household.intake_date,
        "description": f"上门送餐{_n()}",
        **overrides,
    }
    return _save(ServiceRecord(household=household, **values))


# -------------------------------------------------------------------- projects
def make_project(
    community: Area | None = None,
    *,
    street: Area | None = None,
    beneficiaries: Iterable[Household] = (),
    sponsors: Iterable[Organisation] = (),
    **overrides,
) -> Project:
    """An open project with a 1000-yuan budget and a summary for sponsors: of
    ``community`` (a community project), of ``street`` only, or a household project
    when ``beneficiaries`` are given (in their community unless said otherwise)."""
    beneficiaries = list(beneficiaries)
    if community is None and street is None:
        community = beneficiaries[0].community if beneficiaries else make_community()
    values = {
        "name": f"测试项目{_n()}",
        "level": "household" if beneficiaries or community is None else "community",
        "help_kind": "service",
        "description": "内部说明",
        "public_summary": "为社区困难家庭提供上门服务",
        "budget": Decimal("1000"),
        "status": "open",
        "starts_on": dt.date(2026, 3, 1),
        "ends_on": dt.date(2026, 12, 31),
        **overrides,
    }
    project = Project(
        community=community,
        street=street,
        beneficiaries=beneficiaries,
        sponsors=list(sponsors),
        **values,
    )
    return _save(project)


def make_pledge(
    project: Project, organisation: Organisation, *, amount="100", **overrides
) -> Pledge:
    """A pending money pledge, written directly (``sponsorship.pledge`` checks who
    pledges and commits). A pending or approved pledge reserves its amount of the
    budget, as the service does; an approved one makes the organisation a sponsor."""
    values = {"kind": "money", "status": "pending", **overrides}
    pledge = Pledge(project=project, organisation=organisation, amount_yuan=amount, **values)
    if pledge.status in ("pending", "approved"):
        project.pledged_total = (project.pledged_total or Decimal("0")) + pledge.amount_yuan
    if pledge.status == "approved":
        pledge.decided_at = pledge.decided_at or dt.datetime(2026, 9, 1, 2, 0)
        if organisation not in project.sponsors:
            project.sponsors.append(organisation)
    return _save(pledge)


def make_support_plan(household: Household, **overrides) -> SupportPlan:
    """A good-neighbour plan (450 yuan a month, 15 a meal, to a neighbour) from August
    to October 2026, with its three months (``fund.sync_plan_months``), no evidence."""
    from app.services import fund

    values = {
        "name": f"测试助餐计划{_n()}",
        "payee_person": "邻居王阿姨",
        "monthly_amount": Decimal("450"),
        "unit_amount": Decimal("15"),
        "unit": "餐",
        "starts_on": dt.date(2026, 8, 1),
        "ends_on": dt.date(2026, 10, 1),
        "status": "active",
        **overrides,
    }
    plan = SupportPlan(household=household, **values)
    db.session.add(plan)
    fund.sync_plan_months(plan)
    db.session.flush()
    return plan


# ----------------------------------------------------------------- the world
@dataclass
class World:
    """Two streets of one district. ``street`` has the worker's ``community`` and a
    ``neighbour`` community; ``far_street`` has ``far_community``. One user of every
    role (``user(role)``), plus a clerk and a worker of the far street and a second
    sponsor, so every role has a row in scope and rows out of it."""

    district: Area
    street: Area
    community: Area
    neighbour: Area
    far_street: Area
    far_community: Area
    admin: User
    manager: User
    clerk: User
    worker: User
    sponsor: User
    far_clerk: User
    far_worker: User
    other_sponsor: User
    users: dict[str, User] = field(default_factory=dict)

    def user(self, role: str) -> User:
        return self.users[role]


def make_world() -> World:
    district = make_district()
    street, far_street = make_street(), make_street()
    community, neighbour = make_community(street), make_community(street)
    far_community = make_community(far_street)
    world = World(
        district=district,
        street=street,
        community=community,
        neighbour=neighbour,
        far_street=far_street,
        far_community=far_community,
        admin=make_user("district_admin", area=district),
        manager=make_user("district_manager", area=district),
        clerk=make_user("street_clerk", area=street),
        worker=make_user("community_worker", area=community),
        sponsor=make_user("sponsor"),
        far_clerk=make_user("street_clerk", area=far_street),
        far_worker=make_user("community_worker", area=far_community),
        other_sponsor=make_user("sponsor"),
    )
    world.users = {
        "district_admin": world.admin,
        "district_manager": world.manager,
        "street_clerk": world.clerk,
        "community_worker": world.worker,
        "sponsor": world.sponsor,
    }
    return world


# ------------------------------------------------------------- the special fund
# These go through the fund's services (the ledger has no other way in), which commit.
def make_fund(world: World) -> None:
    """A special fund with a history: 10,000 yuan given on 2026-01-10; a 500-yuan
    payment for a project of ``world.community`` on 2026-02-01, reversed the next day.
    Commits."""
    from app.services import fund

    admin = world.admin
    fund.post_donation(
        user=admin,
        amount="10000",
        posted_on=dt.date(2026, 1, 10),
        receipt_number="JJH-1",
        donor_name="测试捐赠人",
    )
    wrong = fund.post_disbursement(
        user=admin,
        amount="500",
        posted_on=dt.date(2026, 2, 1),
        purpose="重复录入的拨付",
        payee_person="收款人",
        project=make_project(world.community),
    )
    fund.reverse_entry(wrong, user=admin, reason="重复录入", posted_on=dt.date(2026, 2, 2))


def make_good_neighbour_plan(world: World, household: Household | None = None) -> SupportPlan:
    """The good-neighbour plan (睦邻计划) for a household of ``world.community``: 450
    yuan a month to a neighbour (phone 13900001111), 15 a meal, August to October 2026;
    August paid (2026-09-05), September checked, October awaiting evidence. Needs 450
    yuan in the fund (``make_fund``). Commits."""
    from app.services import fund

    plan = fund.create_plan(
        user=world.clerk,
        household=household or make_household(world.community),
        name="睦邻计划·邻居做午餐",
        monthly_amount="450",
        unit_amount="15",
        unit="餐",
        payee_person="陈阿姨",
        payee_phone="13900001111",
        starts_on=dt.date(2026, 8, 1),
        ends_on=dt.date(2026, 10, 1),
    )
    august, september, _october = plan.months
    for month in (august, september):
        fund.upload_month_evidence(
            month, user=world.worker, photos=[("午餐.jpg", jpeg())], menus=[("菜单.jpg", jpeg())]
        )
        fund.check_month(month, user=world.clerk, accept=True, note="照片与菜单相符")
    fund.pay_plan_month(august, user=world.admin, posted_on=dt.date(2026, 9, 5))
    return plan


# ------------------------------------------------------------------- files
def jpeg(*, size=(12, 12), color=(200, 100, 50), exif: bool = False) -> bytes:
    """A small JPEG; ``exif=True`` adds a camera maker and a GPS position to strip."""
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "SecretCameraMaker"  # Make
        tags[0x8825] = {1: "N", 2: (31.0, 52.0, 0.0), 3: "E", 4: (117.0, 17.0, 0.0)}
        image.save(out, format="JPEG", exif=tags)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


def png() -> bytes:
    """A small PNG whose text chunk ("home address: secret") must be stripped."""
    info = PngInfo()
    info.add_text("Comment", "home address: secret")
    out = io.BytesIO()
    Image.new("RGBA", (50, 40), (0, 128, 0, 255)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 30), (1, 2, 3)).save(out, format="WEBP")
    return out.getvalue()


def _minimal_pdf() -> bytes:
    """One empty page, with a correct cross-reference table (uploads are parsed)."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Resources<<>>>>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj" % number + body + b"endobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


_PDF = _minimal_pdf()


def pdf() -> bytes:
    """A minimal, complete PDF with no script."""
    return _PDF


# ------------------------------------------------------------------ counting
def count(model, *where) -> int:
    """Rows of ``model`` (matching ``where``)."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """The SQL statements run inside the block, on any connection of the app's engine
    (requests of the test client included)::

        with count_queries() as statements:
            client.get(path)
        assert len(statements) <= 12
    """
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def fund_balance() -> Decimal:
    """The special fund's balance, after checking that it is the ledger's sum."""
    from app.services import fund

    db.session.expire_all()
    held, summed = fund.check_balance()
    assert held == summed, "the account and the ledger disagree"
    return held


# ------------------------------------------------ for tests of the demo itself
def area_named(name: str) -> Area:
    """A demo area by name (tests of the demo district only)."""
    return db.session.scalar(select(Area).where(Area.name == name))


def user_named(username: str) -> User:
    """A demo user by username (tests of the demo district only)."""
    return db.session.scalar(select(User).where(User.username == username))


# ------------------------------------------------------- the dashboard's district
#: the period and "today" of ``make_dashboard_district``
DASHBOARD_MONTH = dt.date(2026, 11, 1)
DASHBOARD_TODAY = dt.date(2026, 11, 20)


def make_dashboard_district(world: World) -> dict:
    """A small district whose dashboard figures for November 2026 (seen on
    ``DASHBOARD_TODAY``) are worked out by hand in ``tests/services/test_dashboard.py``.

    ``world.street``: h1 (2026-11-02, asked itself, visited after 2 days, 低保), h2
    (11-03, referred by a government department, helping, visited after 12 days), h3
    (11-18, referred by a hospital, not visited, not yet due), h4 (2026-10-01, closed,
    低保 and 特困) in ``world.community``; h5 (11-05, found by the community, not visited,
    overdue) and an archived household in ``world.neighbour``.
    ``world.far_street``: h6 (11-10, referred by an enterprise, helping, visited after a
    day). Needs: h1 open (daily living); h2 matched on 11-06 and served on 11-09
    (physiological); h4 met on 11-10 after 40 days (employment); h6 met after 2 days
    (daily living). Projects: a community project in progress (material) and a draft one
    in ``world.neighbour``; a household project (medical, claimed) for h6. The fund
    (``make_fund``), plus 2,000 yuan given on 11-03 and 300 paid to h6's project on 11-12.
    Commits."""
    from app.models import CaseTransition, HardshipCategory
    from app.services import fund

    dibao = _save(HardshipCategory(code=f"dibao{_n()}", name=f"低保{_n()}", sort_order=1))
    tekun = _save(HardshipCategory(code=f"tekun{_n()}", name=f"特困{_n()}", sort_order=2))
    government = make_organisation("government")
    hospital = make_organisation("hospital")
    enterprise = make_organisation("enterprise")
    nov = DASHBOARD_MONTH

    def day(n):
        return nov.replace(day=n)

    h1 = make_household(world.community, intake_date=day(2), categories=[dibao])
    h2 = make_household(
        world.community,
        intake_date=day(3),
        intake_channel="government_referral",
        referrer_organisation=government,
        status="helping",
    )
    h3 = make_household(
        world.community,
        intake_date=day(18),
        intake_channel="hospital_referral",
        referrer_organisation=hospital,
    )
    h4 = make_household(world.community, status="closed", categories=[dibao, tekun])
    h5 = make_household(world.neighbour, intake_date=day(5), intake_channel="community_discovery")
    archived = make_household(world.neighbour, intake_date=day(6))
    archived.archived_at = dt.datetime(2026, 11, 7)
    archived.archive_reason = "重复登记"
    h6 = make_household(
        world.far_community,
        intake_date=day(10),
        intake_channel="institution_referral",
        referrer_organisation=enterprise,
        status="helping",
    )
    make_assessment(h1, visit_date=day(4))
    make_assessment(h2, visit_date=day(15))
    make_assessment(h6, visit_date=day(11))
    db.session.add(
        CaseTransition(
            household=h4,
            from_status="helping",
            to_status="closed",
            note="已脱困",
            occurred_at=dt.datetime(2026, 11, 16, 3, 0),
        )
    )

    make_need(h1, identified_on=day(4))
    need_b = make_need(h2, dimension="physiological", category="medical", identified_on=day(5))
    resource = make_resource(kind="medical", category="medical")
    match = make_match(need_b, resource, today=day(6))
    match.created_at = dt.datetime(2026, 11, 6, 2, 0)
    service = make_service_record(h2, delivered_on=day(9), description="陪同就医")
    service.needs.append(need_b)
    make_need(
        h4,
        dimension="employment",
        category="employment_guidance",
        identified_on=dt.date(2026, 10, 1),
        status="met",
        resolved_on=day(10),
    )
    make_need(h6, identified_on=day(11), status="met", resolved_on=day(13))

    in_progress = make_project(world.community, status="in_progress", help_kind="material")
    draft = make_project(world.neighbour, status="draft")
    household_project = make_project(beneficiaries=[h6], status="claimed", help_kind="medical")
    db.session.commit()
    make_fund(world)  # 10,000 in (January); 500 out for a project of world.community, reversed
    fund.post_donation(
        user=world.admin,
        amount="2000",
        posted_on=day(3),
        receipt_number="JJH-11",
        donor_name="测试",
    )
    fund.post_disbursement(
        user=world.admin,
        amount="300",
        posted_on=day(12),
        purpose="助医",
        payee_person="测试收款人",
        project=household_project,
    )
    return {
        "h1": h1,
        "h2": h2,
        "h3": h3,
        "h4": h4,
        "h5": h5,
        "h6": h6,
        "dibao": dibao,
        "tekun": tekun,
        "in_progress": in_progress,
        "draft": draft,
        "household_project": household_project,
        "service": service,
    }
