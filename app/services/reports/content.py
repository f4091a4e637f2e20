"""What a monthly report says, section by section, as plain tables that the XLSX and
the PDF writers lay out the same way.

Small numbers: a report leaves the building, so a count of 1 to 4 in a cell is written
"<5" (a small community's figure could otherwise point at a family); a median over
fewer than 5 cases and a rate or share whose base is fewer than 5 are left out ("<5"
too). Zero stays 0, which identifies nobody, and amounts of money stay as they are
(they are the fund's, not a family's). Counts only: no household is named.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import format_datetime
from flask_babel import gettext as _

from app.models import choices as c
from app.services.dashboard import Dashboard

SMALL = "<5"
#: below this a count is written SMALL
THRESHOLD = 5


def small(n: int):
    """A count as it may leave the building."""
    n = int(n or 0)
    return SMALL if 0 < n < THRESHOLD else n


def ratio(value, base: int, digits: int = 1):
    """A rate, share or median resting on ``base`` cases: None (shown "–") without
    any, SMALL below the threshold."""
    if value is None or not base:
        return None
    if base < THRESHOLD:
        return SMALL
    return round(float(value), digits)


@dataclass
class Table:
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    #: columns holding money (yuan, two decimals)
    money_columns: tuple[int, ...] = ()
    #: columns holding a percentage (0–100)
    percent_columns: tuple[int, ...] = ()


@dataclass
class Section:
    #: the sheet name (31 characters at most in Excel) and the PDF heading
    title: str
    tables: list[Table]
    note: str = ""
    #: which chart the PDF draws above the tables (``pdf.py``), if any
    chart: str | None = None


@dataclass
class ReportContent:
    title: str
    area_name: str
    month: dt.date
    generated_at: dt.datetime
    sections: list[Section]
    board: Dashboard


def build_content(board: Dashboard, *, area_name: str, anomalies: dict[str, int]) -> ReportContent:
    month = board.period.start
    area_heading = _("Street") if board.by_street else _("Community")
    sections = [
        _summary(board, area_name),
        _comparison(board, area_heading),
        _households(board),
        _intake(board),
        _timeliness(board, area_heading),
        _needs(board),
        _projects(board),
        _money(board),
        _month_work(board),
        _anomalies(anomalies),
    ]
    return ReportContent(
        title=_("Monthly report %(month)s · %(area)s", month=f"{month:%Y-%m}", area=area_name),
        area_name=area_name,
        month=month,
        generated_at=board.generated_at,
        sections=sections,
        board=board,
    )


def _summary(board: Dashboard, area_name: str) -> Section:
    t = board.total
    rows = [
        [_("Month"), f"{board.period.start:%Y-%m}"],
        [_("Area"), area_name],
        [_("Generated"), format_datetime(board.generated_at, "yyyy-MM-dd HH:mm")],
        [_("Households"), small(t.households)],
        [_("Being helped"), small(t.helping)],
        [_("Closed"), small(t.closed)],
        [_("Cases opened in the month"), small(board.new_cases)],
        [_("Cases closed in the month"), small(board.cases_closed)],
        [_("Open needs"), small(t.open_needs)],
        [_("Needs met in the month"), small(t.needs_met)],
        [_("Services delivered"), small(board.services)],
        [_("Live projects"), small(t.live_projects)],
        [_("Communities covered"), f"{t.communities_covered}/{t.communities}"],
        [_("Money in (yuan)"), board.money_in],
        [_("Money out (yuan)"), board.money_out],
        [_("Fund balance (yuan)"), board.balance],
    ]
    return Section(
        _("Summary"),
        [Table([_("Figure"), _("Value")], rows)],
        note=_(
            "Counts of 1 to 4 are shown as <5, and rates, shares and medians resting on "
            "fewer than 5 cases are left out, so that no family can be recognised. No "
            "household is named in this report."
        ),
    )


def _comparison(board: Dashboard, area_heading: str) -> Section:
    headers = [
        area_heading,
        _("Households"),
        _("Not closed"),
        _("Being helped per 100"),
        _("New cases"),
        _("New per 100"),
        _("Open needs"),
        _("Open needs per 100"),
        _("Needs met in the period"),
        _("Live projects"),
        _("Communities covered"),
        _("Reached by household projects"),
        _("Paid out (yuan)"),
    ]
    rows = []
    for r in [*board.areas, board.total]:
        rows.append(
            [
                r.name or _("Total"),
                small(r.households),
                small(r.active),
                ratio(r.helping_per_100, r.active),
                small(r.new_cases),
                ratio(r.new_per_100, r.active),
                small(r.open_needs),
                ratio(r.open_needs_per_100, r.active),
                small(r.needs_met),
                small(r.live_projects),
                f"{r.communities_covered}/{r.communities}",
                small(r.households_reached),
                r.money_out,
            ]
        )
    return Section(
        _("Streets compared") if board.by_street else _("Communities compared"),
        [Table(headers, rows, money_columns=(12,))],
        note=_("Rates are per 100 households not closed."),
        chart="households",
    )


def _households(board: Dashboard) -> Section:
    statuses = c.HOUSEHOLD_STATUSES
    by_status = Table(
        [_("Status"), _("Households")],
        [[str(label), small(board.household_status.get(v, 0))] for v, label in statuses],
    )
    by_category = Table(
        [_("Hardship category"), *[str(label) for _v, label in statuses], _("Total")],
        [
            [name, *[small(counts.get(v, 0)) for v, _l in statuses], small(sum(counts.values()))]
            for _cid, name, counts in board.categories
        ],
    )
    return Section(
        _("Households"),
        [by_status, by_category],
        note=_("A household in two hardship categories counts in both."),
    )


def _intake(board: Dashboard) -> Section:
    rows = [[str(label), small(board.channel_total(value))] for value, label in c.INTAKE_CHANNELS]
    rows.append([_("Total"), small(board.new_cases)])
    share = ratio(
        board.referred_share * 100 if board.referred_share is not None else None,
        board.new_cases,
    )
    rows.append([_("Referred by government departments, hospitals and enterprises (%)"), share])
    return Section(
        _("New cases"), [Table([_("Intake channel"), _("New cases")], rows)], chart="intake"
    )


def _timeliness(board: Dashboard, area_heading: str) -> Section:
    headers = [
        area_heading,
        _("Visited on time (%)"),
        _("Days to first visit (median)"),
        _("Days need to match (median)"),
        _("Days match to service (median)"),
    ]
    rows = []
    for r in [*board.areas, board.total]:
        share = r.on_time_share * 100 if r.on_time_share is not None else None
        rows.append(
            [
                r.name or _("Total"),
                ratio(share, r.visits_due),
                ratio(r.median_days_to_visit, r.bases.get("median_days_to_visit", 0)),
                ratio(r.median_days_to_match, r.bases.get("median_days_to_match", 0)),
                ratio(r.median_days_to_service, r.bases.get("median_days_to_service", 0)),
            ]
        )
    return Section(_("Timeliness"), [Table(headers, rows)])


def _needs(board: Dashboard) -> Section:
    statuses = [(v, label) for v, label in c.NEED_STATUSES if v != "withdrawn"]
    headers = [_("Dimension"), *[str(label) for _v, label in statuses], _("Median days to meet")]
    rows = [
        [
            str(label),
            *[small(board.needs[d].get(v, 0)) for v, _l in statuses],
            ratio(board.needs_median_days.get(d), board.needs_met_in_period.get(d, 0)),
        ]
        for d, label in c.NEED_DIMENSIONS
    ]
    return Section(_("Needs"), [Table(headers, rows)], chart="needs")


def _projects(board: Dashboard) -> Section:
    kinds = c.HELP_KINDS
    by_status = Table(
        [_("Status"), *[str(label) for _v, label in kinds]],
        [
            [str(label), *[small(board.projects[s].get(k, 0)) for k, _l in kinds]]
            for s, label in c.PROJECT_STATUSES
        ],
    )
    coverage = Table(
        [_("Community"), _("Street"), _("Community projects"), _("Covered")],
        [
            [cname, sname, total, _("yes") if live else _("no")]
            for _cid, cname, _sid, sname, total, live in board.coverage
        ],
    )
    reached = Table(
        [_("Figure"), _("Value")],
        [[_("Households reached by household projects"), small(board.total.households_reached)]],
    )
    return Section(_("Projects and coverage"), [by_status, coverage, reached])


def _money(board: Dashboard) -> Section:
    months = Table(
        [_("Month"), _("Money in (yuan)"), _("Money out (yuan)")],
        [[m, *board.money.get(m, (Decimal("0"), Decimal("0")))] for m in board.months],
        money_columns=(1, 2),
    )
    position = Table(
        [_("Figure"), _("Yuan")],
        [
            [_("Balance"), board.balance],
            [_("Earmarked for projects"), board.earmarked],
            [_("Reserved for support plans"), board.reserved],
            [_("Free to spend"), board.free],
        ],
        money_columns=(1,),
    )
    spending = Table(
        [_("Kind of help"), _("Paid out (yuan)")],
        [
            [c.label(c.HELP_KINDS, k) if k else _("Not for a project (plans, households)"), v]
            for k, v in board.spending
        ],
        money_columns=(1,),
    )
    pledges = Table(
        [_("Sponsor"), _("Pledged (pending and approved)"), _("Approved"), _("Received")],
        [[name, p, a, r] for _id, name, p, a, r in board.pledges],
        money_columns=(1, 2, 3),
    )
    return Section(
        _("Special fund"),
        [months, position, spending, pledges],
        note=_(
            "Balance, earmarked, reserved and free are the whole fund's on the day the "
            "report was made; money in and out are the month's, net of reversals."
        ),
        chart="money",
    )


def _month_work(board: Dashboard) -> Section:
    rows = [
        [_("Cases opened"), small(board.new_cases)],
        [_("Cases closed"), small(board.cases_closed)],
        [_("Services delivered"), small(board.services)],
        [_("Evidence files of those services"), small(board.service_evidence)],
        [_("Support-plan months paid"), small(board.plan_months_paid)],
        [_("Paid for support-plan months (yuan)"), board.plan_months_paid_amount],
        [_("Donations and other money in (yuan)"), board.money_in],
        [_("Disbursements (yuan)"), board.money_out],
    ]
    return Section(_("The month's work"), [Table([_("Figure"), _("Value")], rows)])


def _anomalies(anomalies: dict[str, int]) -> Section:
    labels = {
        "disbursements_without_evidence": _("Disbursements without evidence"),
        "plan_months_missing": _("Support-plan months ended unpaid"),
        "projects_over_budget": _("Projects paid beyond their budget"),
        "pledges_not_received": _("Approved pledges not received in time"),
    }
    rows = [[labels[k], small(anomalies.get(k, 0))] for k in labels]
    return Section(
        _("Anomalies"),
        [Table([_("Anomaly"), _("Open")], rows)],
        note=_("Anomalies open on the day the report was made (the fund's monitoring page)."),
    )
