"""Validators and maskers for personal data, shared by models, forms, CLI and tests.

Each ``normalize_*`` function returns the cleaned value or raises ``InvalidValue``
whose message is a lazy string in the user's language.
"""

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l


class InvalidValue(ValueError):
    """A value a user typed that we refuse; ``str(exc)`` is the message to show."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_id_number(value: str, today: dt.date | None = None) -> str:
    """An 18-character resident ID number, upper-case, with a valid check digit
    and a real birth date that is not in the future."""
    raw = (value or "").strip().upper().replace(" ", "")
    if not _ID_RE.match(raw):
        raise InvalidValue(_l("A resident ID number has 17 digits followed by a digit or X."))
    try:
        birth = dt.date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise InvalidValue(_l("The birth date inside this ID number does not exist.")) from None
    if birth > (today or dt.date.today()) or birth.year < 1870:
        raise InvalidValue(_l("The birth date inside this ID number is not possible."))
    if id_check_digit(raw[:17]) != raw[17]:
        raise InvalidValue(_l("The check digit of this ID number is wrong; please check it."))
    return raw


def birth_date_from_id(id_number: str) -> dt.date:
    return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def gender_from_id(id_number: str) -> str:
    """'male' or 'female', from the 17th digit (odd is male)."""
    return "male" if int(id_number[16]) % 2 else "female"


def normalize_phone(value: str) -> str:
    """A mainland mobile number (11 digits) or a landline such as 0551-12345678."""
    raw = re.sub(r"[\s()]", "", value or "")
    if raw.startswith("+86"):
        raw = raw[3:]
    if _MOBILE_RE.match(raw) or _LANDLINE_RE.match(raw):
        return raw
    raise InvalidValue(_l("Enter an 11-digit mobile number or a landline such as 0551-12345678."))


def normalize_money(value, *, allow_none: bool = True) -> Decimal | None:
    """A non-negative amount in yuan with at most two decimals."""
    if value is None or value == "":
        if allow_none:
            return None
        raise InvalidValue(_l("An amount is required."))
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidValue(_l("Enter an amount in yuan, such as 450 or 15.50.")) from None
    if not amount.is_finite():
        raise InvalidValue(_l("Enter an amount in yuan, such as 450 or 15.50."))
    if amount < 0:
        raise InvalidValue(_l("An amount cannot be negative."))
    # size first: quantize() itself fails on numbers such as 1e30
    if amount >= Decimal("10000000000"):
        raise InvalidValue(_l("This amount is too large."))
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidValue(_l("An amount has at most two decimal places."))
    return amount


def format_yuan(value) -> str:
    """The one way an amount is shown, everywhere (lists, details, cards, messages):
    ``¥38,900.00``; a negative amount ``-¥300.00``; no amount, an empty string.
    Exports keep amounts as numbers instead."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def check_not_future(value: dt.date | None, today: dt.date | None = None):
    if value is not None and value > (today or dt.date.today()):
        raise InvalidValue(_l("This date is in the future."))
    return value


def escape_like(term: str) -> str:
    """``term`` as literal text inside a LIKE pattern (``ESCAPE '\\'``): its ``%``,
    ``_`` and backslashes match themselves."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def mask_id_number(value: str | None) -> str:
    """``340102199001011234`` → ``340102********234``-style: region code and the last
    four characters stay, the birth date and sequence are hidden."""
    if not value:
        return ""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


HIDDEN = "***"

#: Patterns that look like a resident ID number or a mobile phone; used to scrub logs
#: and to check that nobody's page leaks them.
ID_NUMBER_PATTERN = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])")
PHONE_PATTERN = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


#: the largest id a table holds (PostgreSQL ``integer``)
MAX_ID = 2**31 - 1


def parse_id(raw) -> int | None:
    """A record id from a URL or a form: plain ASCII digits within range, else None.

    (``"²".isdigit()`` is True but ``int("²")`` fails; a 30-digit id overflows the
    database: both must answer 404, never 500.)"""
    text = str(raw if raw is not None else "").strip()
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
