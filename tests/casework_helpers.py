"""Small factories for casework tests: households in a named community, users by name."""

import datetime as dt
import itertools

from sqlalchemy import select

from app.extensions import db
from app.models import Area, Household, User
from app.validation import id_check_digit

_serial = itertools.count(1)


def area(name: str) -> Area:
    return db.session.scalar(select(Area).where(Area.name == name))


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def new_id_number() -> str:
    """A valid ID number no demo person has (born 1950 in Beijing's 东城区)."""
    n = next(_serial)
    first17 = f"110101{dt.date(1950, 1, 1) + dt.timedelta(days=n):%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_digit(first17)


def make_household(
    community: str = "和平社区",
    *,
    status: str = "registered",
    intake_date: dt.date = dt.date(2026, 10, 1),
    intake_channel: str = "self_request",
    assigned_worker: User | None = None,
    head_name: str = "测试户主",
    **extra,
) -> Household:
    """A new household, flushed (new rows may start in any status)."""
    household = Household(
        head_name=head_name,
        head_id_number=new_id_number(),
        head_phone="13900001234",
        address="测试地址1栋",
        community=area(community),
        intake_channel=intake_channel,
        intake_date=intake_date,
        status=status,
        assigned_worker=assigned_worker,
        **extra,
    )
    db.session.add(household)
    db.session.flush()
    return household


SEVERITIES = {
    "physiological": 4,
    "psychological": 3,
    "social": 2,
    "daily_living": 5,
    "employment": 1,
}
