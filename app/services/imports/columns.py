"""The columns of the import templates, and how a cell becomes a value.

A column's header is the same label the panel gives the field (and the list export
uses: ``app/admin/labels.py``), so an exported list, edited in Excel, comes back in
as an update. Headers are recognised in Chinese and in English. Each cell is checked
by the validators the forms and models use (``app/validation.py``); a cell that
fails yields a ``CellError`` naming the column and the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from app.models import choices as c
from app.validation import (
    InvalidValue,
    check_not_future,
    normalize_id_number,
    normalize_money,
    normalize_phone,
)

#: a masked value from a list export (``340102********1234``, ``138****5678``):
#: "unchanged", never a new value
MASKED = re.compile(r"^[0-9A-Za-z]*\*{3,}[0-9A-Za-z]*$")
LIST_SEPARATORS = re.compile(r"\s*[、,，;；/]\s*")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


class CellError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class Column:
    """One column of a template: where its value goes and how a cell is read."""

    key: str
    label: object
    #: how the cell is read: text, id, phone, money, date, int, choice, list, area
    kind: str = "text"
    #: a new record needs it (an update may leave it out)
    required: bool = False
    max_length: int | None = None
    choices: list = field(default_factory=list)
    #: what the 填写说明 sheet says about it
    help: object = ""
    #: belongs to a member row (households template), not to the household
    member: bool = False
    #: width in the template, characters
    width: int = 14
    #: shown in the template (False: read from exports only, such as 状态)
    in_template: bool = True

    def header_names(self) -> set[str]:
        return _in_both_languages(self.label)


def _in_both_languages(text) -> set[str]:
    names = set()
    for locale in ("zh_Hans_CN", "en"):
        with force_locale(locale):
            names.add(str(text).strip())
    return names


def choice_lookup(choices) -> dict[str, object]:
    """Every way a choice may be typed → its stored value: the value itself, and its
    label in Chinese and in English."""
    found: dict[str, object] = {}
    for value, text in choices:
        found[str(value).lower()] = value
        for name in _in_both_languages(text):
            found[name.lower()] = value
    return found


def parse_text(column: Column, raw: str) -> str:
    if column.max_length and len(raw) > column.max_length:
        raise CellError(
            _l(
                "At most %(count)s characters (this has %(length)s).",
                count=column.max_length,
                length=len(raw),
            )
        )
    return raw


def parse_date(raw: str) -> dt.date:
    text = raw.split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2} ", raw) else raw
    for fmt in DATE_FORMATS:
        try:
            value = dt.datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    else:
        if re.fullmatch(r"\d{5}", text):  # an Excel serial date typed as a number
            value = dt.date(1899, 12, 30) + dt.timedelta(days=int(text))
        else:
            raise CellError(_l("Not a date: write it as 2024-03-01."))
    try:
        return check_not_future(value)
    except InvalidValue as exc:
        raise CellError(exc.message) from None


def parse_cell(column: Column, raw: str, lookups: dict[str, dict]):
    """The value of one non-empty cell, or CellError."""
    try:
        if column.kind == "id":
            return normalize_id_number(raw)
        if column.kind == "phone":
            return normalize_phone(raw)
        if column.kind == "money":
            return normalize_money(raw.replace(",", "").replace("¥", "").replace("￥", ""))
    except InvalidValue as exc:
        raise CellError(exc.message) from None
    if column.kind == "date":
        return parse_date(raw)
    if column.kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise CellError(_l("Not a whole number.")) from None
    if column.kind == "choice":
        value = lookups[column.key].get(raw.lower())
        if value is None:
            raise CellError(_l("Not one of the choices of this column: %(value)s.", value=raw))
        return value
    if column.kind == "list":
        names = [n for n in LIST_SEPARATORS.split(raw) if n]
        table = lookups[column.key]
        unknown = [n for n in names if n.lower() not in table]
        if unknown:
            raise CellError(_l("Unknown: %(names)s.", names="、".join(unknown)))
        return tuple(sorted({table[n.lower()] for n in names}))
    return parse_text(column, raw)


def grade_choices():
    return [(g, text) for g, text in c.DISABILITY_GRADES] + [
        (g, str(g)) for g, _text in c.DISABILITY_GRADES
    ]


# ------------------------------------------------------------- the templates
HOUSEHOLD_COLUMNS: list[Column] = [
    Column(
        "id",
        _l("No."),
        kind="int",
        width=8,
        help=_l(
            "Leave empty for a new household. Filled in by an export of the list: "
            "the row then updates that household."
        ),
    ),
    Column(
        "head_name",
        _l("Head of household"),
        required=True,
        max_length=40,
        width=12,
        help=_l("The head of household's full name."),
    ),
    Column(
        "head_id_number",
        _l("ID number"),
        kind="id",
        required=True,
        width=22,
        help=_l(
            "The head's 18-character resident ID number; it groups the rows of one "
            "household and finds a household already registered (the row then "
            "updates it)."
        ),
    ),
    Column(
        "head_phone",
        _l("Phone"),
        kind="phone",
        width=15,
        help=_l("An 11-digit mobile number or a landline such as 0551-12345678."),
    ),
    Column(
        "street",
        _l("Street"),
        kind="area",
        width=12,
        help=_l("Optional: the community's street (checked against the community)."),
    ),
    Column(
        "community",
        _l("Community"),
        kind="area",
        required=True,
        width=14,
        help=_l(
            "A community of your area (drop-down). May be left empty when a "
            "community is chosen on the upload page."
        ),
    ),
    Column(
        "categories",
        _l("Hardship categories"),
        kind="list",
        width=18,
        help=_l("One or more hardship categories, separated by 、 (drop-down)."),
    ),
    Column(
        "status",
        _l("Status"),
        kind="choice",
        choices=c.HOUSEHOLD_STATUSES,
        in_template=False,
        help=_l("From a list export; a case's status changes only on its page."),
    ),
    Column(
        "intake_channel",
        _l("Intake channel"),
        kind="choice",
        required=True,
        choices=c.INTAKE_CHANNELS,
        width=18,
        help=_l("How the case reached the community (drop-down)."),
    ),
    Column(
        "intake_date",
        _l("Intake date"),
        kind="date",
        width=12,
        help=_l("A date such as 2024-03-01, not in the future; empty: today."),
    ),
    Column(
        "address",
        _l("Address"),
        required=True,
        max_length=200,
        width=24,
        help=_l("The household's address."),
    ),
    Column(
        "disability_type",
        _l("Disability type"),
        kind="choice",
        choices=c.DISABILITY_TYPES,
        help=_l("The head's disability, if any (drop-down)."),
    ),
    Column(
        "disability_grade",
        _l("Disability grade"),
        kind="choice",
        choices=grade_choices(),
        help=_l("1 to 4 (drop-down)."),
    ),
    Column(
        "monthly_income",
        _l("Monthly income (yuan)"),
        kind="money",
        help=_l("Household income per month in yuan, such as 1500 or 1500.50."),
    ),
    Column(
        "existing_support",
        _l("Insurance and subsidies received"),
        max_length=2000,
        width=20,
        help=_l("Medical insurance, nursing subsidy, pension …"),
    ),
    Column(
        "referrer_organisation",
        _l("Referred by (organisation)"),
        kind="organisation",
        width=18,
        help=_l("For referrals: the referring organisation's name, as registered."),
    ),
    Column(
        "referrer_person",
        _l("Referred by (person)"),
        max_length=40,
        help=_l("For referrals by a resident: the person's name."),
    ),
    Column("notes", _l("Notes"), max_length=2000, width=20, help=_l("Anything else.")),
    Column(
        "member_name",
        _l("Member name"),
        member=True,
        max_length=40,
        width=12,
        help=_l(
            "A member living with the head: one row per member, with the head's "
            "ID number on the row. Leave the member columns empty on a row that "
            "only describes the household."
        ),
    ),
    Column(
        "member_relation",
        _l("Relation to head"),
        kind="choice",
        member=True,
        choices=c.RELATIONS,
        help=_l("The member's relation to the head (drop-down)."),
    ),
    Column(
        "member_id_number",
        _l("Member ID number"),
        kind="id",
        member=True,
        width=22,
        help=_l("The member's resident ID number (may be empty for a small child)."),
    ),
    Column(
        "member_health",
        _l("Member health"),
        member=True,
        max_length=2000,
        help=_l("The member's health, in a few words."),
    ),
    Column(
        "member_disability_type",
        _l("Member disability type"),
        kind="choice",
        member=True,
        choices=c.DISABILITY_TYPES,
        help=_l("Drop-down."),
    ),
    Column(
        "member_disability_grade",
        _l("Member disability grade"),
        kind="choice",
        member=True,
        choices=grade_choices(),
        help=_l("1 to 4 (drop-down)."),
    ),
    Column(
        "member_employment",
        _l("Employment"),
        kind="choice",
        member=True,
        choices=c.EMPLOYMENT_STATUSES,
        help=_l("Drop-down."),
    ),
]

RESOURCE_COLUMNS: list[Column] = [
    Column(
        "id",
        _l("No."),
        kind="int",
        width=8,
        help=_l("Leave empty for a new resource; filled in by an export of the list."),
    ),
    Column(
        "name",
        _l("Name"),
        required=True,
        max_length=120,
        width=20,
        help=_l("What is offered, such as 助餐服务 or 轮椅."),
    ),
    Column(
        "kind",
        _l("Kind"),
        kind="choice",
        required=True,
        choices=c.RESOURCE_KINDS,
        help=_l("Funds, material, policy, medical, service or employment (drop-down)."),
    ),
    Column(
        "category",
        _l("Category"),
        kind="choice",
        choices=c.NEED_CATEGORIES,
        width=16,
        help=_l("The kind of need it meets best (drop-down)."),
    ),
    Column(
        "provider_name",
        _l("Provider"),
        required=True,
        max_length=120,
        width=18,
        help=_l("A registered organisation's name, or a person's name (a neighbour)."),
    ),
    Column(
        "provider_phone",
        _l("Provider phone"),
        kind="phone",
        width=15,
        help=_l("An 11-digit mobile number or a landline such as 0551-12345678."),
    ),
    Column("description", _l("Description"), max_length=2000, width=24, help=_l("Details.")),
    Column(
        "quantity",
        _l("Quantity"),
        kind="money",
        help=_l("How many can be given (empty: no limit)."),
    ),
    Column("unit", _l("Unit"), max_length=16, width=8, help=_l("Such as 份, 次, 台.")),
    Column(
        "value_yuan",
        _l("Value (yuan)"),
        kind="money",
        help=_l("The value in yuan, such as 450 or 15.50."),
    ),
    Column(
        "available_from",
        _l("Available from"),
        kind="date",
        width=12,
        help=_l("A date such as 2024-03-01; empty: today."),
    ),
    Column(
        "available_until", _l("Available until"), kind="date", width=12, help=_l("Empty: no end.")
    ),
    Column(
        "status",
        _l("Status"),
        kind="choice",
        choices=c.RESOURCE_STATUSES,
        help=_l("Available, used up or withdrawn (drop-down); empty: available."),
    ),
    Column(
        "street",
        _l("Street"),
        kind="area",
        width=12,
        help=_l("The street that owns the resource (a street clerk: their own)."),
    ),
    Column(
        "community",
        _l("Community"),
        kind="area",
        width=14,
        help=_l("The community that owns it; empty for a street-wide resource."),
    ),
]

#: the column that must be in the header for the sheet to be recognised as ours
KEY_COLUMNS = {"households": ("head_name", "head_id_number"), "resources": ("name", "kind")}
COLUMNS: dict[str, list[Column]] = {"households": HOUSEHOLD_COLUMNS, "resources": RESOURCE_COLUMNS}
