"""The district at a glance (数据看板): the figures a manager compares streets by, and a
street clerk reads for their street, for one period.

Every figure is an SQL aggregate (``GROUP BY`` area, status, category, month, days)
read through ``app/access.py``'s ``read_criterion`` for the viewer's scope, archived
rows left out as in the lists. No row is loaded as an object, and the number of
statements does not grow with the data: ``build(scope, period)`` runs the same
statements for ten households or a million (``tests/services/test_dashboard.py``
counts them; ``bench/dashboard.py`` times them).

The rows of the tables are *areas*: streets when the view covers the district, the
communities of the street when it covers one street (a clerk, or a district user who
picked a street in the switcher).

What counts (the period is ``[start, end]``, both days included; "now" figures
ignore it):

- households (now): by status, by area and by hardship category; a household in two
  categories counts in both.
- new cases (period): households whose intake date falls in it, by month and intake
  channel; *referred by government, hospitals and enterprises* is the share of the
  three referral channels of organisations.
- timeliness, of the period's new cases: *visited on time* is the share visited
  (first home-visit assessment on or after intake) within ``VISIT_OVERDUE_DAYS`` of
  intake, among those visited or whose deadline has passed (a case still inside its
  deadline and not yet visited is neither late nor on time); the median days from
  intake to the first visit; for needs identified in the period, the median days from
  need to its first match and from that match to the first service delivered for it.
- needs (now): by dimension and status; median days to meet, over needs met (resolved)
  in the period.
- projects (now): by status and kind of help; *live* means open, claimed, in
  progress or completed (not a draft, not cancelled). Coverage: every community in the
  view with its community projects, covered when one of them is live. Households
  reached: beneficiary households of live household projects.
- money (period): the special fund's money in and out per month, net of reversals, over
  the ledger rows the viewer may read (as the fund overview counts them; a street's
  view counts the rows of that street, not the district-level donations); balance,
  earmarked, reserved and free are fund-wide (one account), as on the fund overview;
  spending by kind of help of the project paid; pledged (pending and approved) and
  received per sponsor organisation, for pledges made in the period.
- services (period): service records delivered, with how many evidence files they
  carry; support-plan months paid (their payment posted in the period); cases closed.

Nothing here names a household or shows an ID number or a phone: counts and sums only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app, has_app_context
from sqlalchemy import and_, case, distinct, func, select

from app import access
from app.extensions import db
from app.models import (
    Area,
    CaseTransition,
    FundAccount,
    HardshipCategory,
    LedgerEntry,
    Organisation,
    PlanMonth,
    Pledge,
    Project,
    ServiceRecord,
    StoredFile,
    SupportPlan,
    project_beneficiaries,
)
from app.models import choices as c
from app.models.dashboard import DashboardRefresh
from app.services.dashboard import summary
from app.services.dashboard.sql import median, year_month
from app.services.fund.ledger import net_in_out

#: projects that count as running or done (not a draft, not cancelled)
LIVE_PROJECT_STATUSES = ("open", "claimed", "in_progress", "completed")
#: intake channels that are referrals by an organisation (government, hospital, enterprise)
ORGANISATION_REFERRALS = ("government_referral", "hospital_referral", "institution_referral")
#: the row key of ledger rows owned by the district as a whole (donations)
DISTRICT_LEVEL = 0

PERIOD_KINDS = ("this_month", "last_month", "this_year", "custom")


# ------------------------------------------------------------------ period
@dataclass(frozen=True)
class Period:
    """The days a dashboard or report covers, both ends included."""

    kind: str
    start: dt.date
    end: dt.date

    @property
    def months(self) -> list[str]:
        """Every month it touches, as ``'2026-11'``, in order."""
        result, day = [], self.start.replace(day=1)
        while day <= self.end:
            result.append(f"{day:%Y-%m}")
            day = (day + dt.timedelta(days=32)).replace(day=1)
        return result

    @property
    def label(self) -> str:
        if self.start.day == 1 and self.end == month_end(self.start):
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


def month_end(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def month_period(month: dt.date) -> Period:
    """The calendar month of ``month`` (the monthly report's period)."""
    start = month.replace(day=1)
    return Period("custom", start, month_end(start))


def period_for(
    kind: str | None,
    today: dt.date,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Period:
    """The period a picker asked for; an unknown kind, or a custom range without both
    ends, is this month. A custom range is put in order and ends today at the latest."""
    if kind == "last_month":
        last = today.replace(day=1) - dt.timedelta(days=1)
        return Period(kind, last.replace(day=1), last)
    if kind == "this_year":
        return Period(kind, today.replace(month=1, day=1), today)
    if kind == "custom" and start is not None and end is not None:
        start, end = min(start, end), max(start, end)
        end = min(end, today)
        start = min(start, end)
        if (end - start).days > 3660:  # ten years: nobody compares more at a glance
            start = end - dt.timedelta(days=3660)
        return Period(kind, start, end)
    return Period("this_month", today.replace(day=1), today)


# ------------------------------------------------------------------- scope
def _where(model, scope: access.Scope):
    """The rows of ``model`` the scope reads, still in use."""
    return and_(access.read_criterion(model, scope), access.active_criterion(model))


def _by_street(scope: access.Scope) -> bool:
    return scope.street_id is None


def _area_column(model, scope: access.Scope):
    return model.street_id if _by_street(scope) else model.community_id


def _days_setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default)) if has_app_context() else default


# ----------------------------------------------------------------- result
@dataclass
class AreaRow:
    """One line of the street (or community) comparison table."""

    id: int
    name: str
    households: int = 0
    helping: int = 0
    closed: int = 0
    new_cases: int = 0
    visited_on_time: int = 0
    visits_due: int = 0
    median_days_to_visit: float | None = None
    median_days_to_match: float | None = None
    median_days_to_service: float | None = None
    open_needs: int = 0
    needs_met: int = 0
    live_projects: int = 0
    communities: int = 0
    communities_covered: int = 0
    households_reached: int = 0
    money_out: Decimal = Decimal("0")
    #: how many cases each median rests on (the report hides medians of fewer than 5)
    bases: dict[str, int] = field(default_factory=dict)

    @property
    def active(self) -> int:
        """Households not closed: the base of the per-100 rates."""
        return self.households - self.closed

    @property
    def on_time_share(self) -> float | None:
        return self.visited_on_time / self.visits_due if self.visits_due else None

    def per_100(self, value) -> float | None:
        """``value`` per 100 households not closed (None without any)."""
        return 100 * float(value) / self.active if self.active else None

    @property
    def new_per_100(self) -> float | None:
        return self.per_100(self.new_cases)

    @property
    def open_needs_per_100(self) -> float | None:
        return self.per_100(self.open_needs)

    @property
    def helping_per_100(self) -> float | None:
        return self.per_100(self.helping)

    @property
    def reached_per_100(self) -> float | None:
        return self.per_100(self.households_reached)


@dataclass
class Dashboard:
    period: Period
    scope: access.Scope
    #: rows are streets (district view) or the communities of one street
    by_street: bool
    generated_at: dt.datetime
    areas: list[AreaRow] = field(default_factory=list)
    #: households now: {status: n}
    household_status: dict[str, int] = field(default_factory=dict)
    #: [(category id, name, {status: n})]
    categories: list[tuple[int, str, dict[str, int]]] = field(default_factory=list)
    #: new cases: {month: {channel: n}}
    intake: dict[str, dict[str, int]] = field(default_factory=dict)
    #: {dimension: {status: n}}
    needs: dict[str, dict[str, int]] = field(default_factory=dict)
    #: {dimension: median days to meet} over needs met in the period
    needs_median_days: dict[str, float | None] = field(default_factory=dict)
    needs_met_in_period: dict[str, int] = field(default_factory=dict)
    #: {status: {help kind: n}}
    projects: dict[str, dict[str, int]] = field(default_factory=dict)
    #: [(community id, community name, street id, street name, projects, live projects)]
    coverage: list[tuple[int, str, int, str, int, int]] = field(default_factory=list)
    #: {month: (money in, money out)}
    money: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    #: [(help kind or "", spent)]
    spending: list[tuple[str, Decimal]] = field(default_factory=list)
    #: [(organisation id, name, pledged, approved, received)]
    pledges: list[tuple[int, str, Decimal, Decimal, Decimal]] = field(default_factory=list)
    balance: Decimal = Decimal("0")
    earmarked: Decimal = Decimal("0")
    reserved: Decimal = Decimal("0")
    services: int = 0
    service_evidence: int = 0
    plan_months_paid: int = 0
    plan_months_paid_amount: Decimal = Decimal("0")
    cases_closed: int = 0
    #: the whole view (the district or the street)
    total: AreaRow = field(default_factory=lambda: AreaRow(0, ""))
    #: the summary refresh the heavy figures were read from (None: all computed live)
    refresh: DashboardRefresh | None = None

    # ----- how fresh
    @property
    def as_of(self) -> dt.datetime:
        """When the figures held: the refresh whose snapshot they read, or now."""
        if self.refresh is not None and self.refresh.finished_at is not None:
            return self.refresh.finished_at
        return self.generated_at

    @property
    def live_from(self) -> dt.date | None:
        """The first day of the period counted live (after the summary's days), or None
        when the summary covers the whole period (or there is no summary)."""
        if self.refresh is None or self.refresh.covered_to is None:
            return None
        day = self.refresh.covered_to + dt.timedelta(days=1)
        return max(day, self.period.start) if day <= self.period.end else None

    # ----- derived, for pages and the report
    @property
    def months(self) -> list[str]:
        return self.period.months

    @property
    def new_cases(self) -> int:
        return sum(sum(row.values()) for row in self.intake.values())

    def channel_total(self, channel: str) -> int:
        return sum(row.get(channel, 0) for row in self.intake.values())

    @property
    def referred_by_organisations(self) -> int:
        return sum(self.channel_total(ch) for ch in ORGANISATION_REFERRALS)

    @property
    def referred_share(self) -> float | None:
        return self.referred_by_organisations / self.new_cases if self.new_cases else None

    @property
    def money_in(self) -> Decimal:
        return sum((i for i, _o in self.money.values()), Decimal("0"))

    @property
    def money_out(self) -> Decimal:
        return sum((o for _i, o in self.money.values()), Decimal("0"))

    @property
    def free(self) -> Decimal:
        return max(self.balance - self.earmarked - self.reserved, Decimal("0"))

    @property
    def shortfall(self) -> Decimal:
        return max(self.earmarked + self.reserved - self.balance, Decimal("0"))

    @property
    def communities_uncovered(self) -> int:
        return sum(1 for row in self.coverage if not row[5])


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


# -------------------------------------------------------------- building
def build(
    scope: access.Scope,
    period: Period,
    *,
    today: dt.date | None = None,
    use_summary: bool = True,
) -> Dashboard:
    """Every figure of the dashboard for ``scope`` (``access.scope_of(user)``) and
    ``period``: a fixed number of aggregate statements. The heavy figures are read from
    the summary table where it has them (``summary.py``; ``use_summary=False``: all
    computed live from the records, as before any refresh)."""
    today = today or dt.date.today()
    board = Dashboard(
        period=period,
        scope=scope,
        by_street=_by_street(scope),
        generated_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )
    board.refresh = summary.latest() if use_summary else None
    rows = _areas(board)
    _households(board, rows)
    _categories(board)
    _intake(board, rows)
    _timeliness(board, rows, today)
    _needs(board, rows)
    _projects(board, rows)
    _money_figures(board, rows)
    _pledges(board)
    _activity(board)
    total = board.total
    total.name = ""
    for row in board.areas:
        for name in (
            "households",
            "helping",
            "closed",
            "new_cases",
            "visited_on_time",
            "visits_due",
            "open_needs",
            "needs_met",
            "live_projects",
            "communities",
            "communities_covered",
            "households_reached",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    total.money_out = board.money_out
    return board


def _areas(board: Dashboard) -> dict[int, AreaRow]:
    """The table's rows, and the communities of the view (for coverage): one statement."""
    scope = board.scope
    street_area = db.aliased(Area)
    stmt = (
        select(Area.id, Area.name, street_area.id, street_area.name)
        .join(street_area, street_area.id == Area.parent_id)
        .where(Area.level == "community")
    )
    if scope.street_id is not None:
        stmt = stmt.where(Area.parent_id == scope.street_id)
    communities = db.session.execute(stmt.order_by(street_area.name, Area.name)).all()
    if board.by_street:
        streets = db.session.execute(
            select(Area.id, Area.name).where(Area.level == "street").order_by(Area.name)
        ).all()
        rows = {sid: AreaRow(sid, name) for sid, name in streets}
        for _cid, _cname, sid, _sname in communities:
            rows[sid].communities += 1
    else:
        rows = {}
        for cid, cname, _sid, _sname in communities:
            rows[cid] = AreaRow(cid, cname, communities=1)
    board.areas = list(rows.values())
    board.coverage = [(cid, cname, sid, sname, 0, 0) for cid, cname, sid, sname in communities]
    return rows


def _households(board: Dashboard, rows: dict[int, AreaRow]) -> None:
    totals = dict.fromkeys(c.values(c.HOUSEHOLD_STATUSES), 0)
    for area_id, _b, status, _k2, _d, n in summary.rows("households", board.scope, board.refresh):
        totals[status] = totals.get(status, 0) + n
        row = rows.get(area_id)
        if row is None:
            continue
        row.households += n
        if status == "helping":
            row.helping += n
        elif status == "closed":
            row.closed += n
    board.household_status = totals


def _categories(board: Dashboard) -> None:
    found: dict[int, tuple[str, dict[str, int]]] = {}
    for _area, _b, cid, status, _d, n in summary.rows("categories", board.scope, board.refresh):
        counts = found.setdefault(int(cid), ("", {}))[1]
        counts[status] = counts.get(status, 0) + n
    order = db.session.execute(
        select(HardshipCategory.id, HardshipCategory.name).order_by(
            HardshipCategory.sort_order, HardshipCategory.name
        )
    ).all()
    # every category, those without a household too (a zero is a figure as well)
    board.categories = [(cid, name, found.get(cid, (name, {}))[1]) for cid, name in order]


def _in_period(column, period: Period):
    return and_(column >= period.start, column <= period.end)


def _dated(board: Dashboard, name: str, bucket=None):
    """The period's rows of the dated figure ``name`` (``summary.FIGURES``)."""
    period = board.period
    return summary.rows(name, board.scope, board.refresh, period.start, period.end, bucket)


def _intake(board: Dashboard, rows: dict[int, AreaRow]) -> None:
    intake: dict[str, dict[str, int]] = {m: {} for m in board.months}
    for area_id, ym, channel, _k2, _d, n in _dated(board, "intake", year_month):
        cell = intake.setdefault(ym, {})
        cell[channel] = cell.get(channel, 0) + n
        if area_id in rows:
            rows[area_id].new_cases += n
    board.intake = intake


def _timeliness(board: Dashboard, rows: dict[int, AreaRow], today: dt.date) -> None:
    limit = _days_setting("VISIT_OVERDUE_DAYS", 7)
    deadline = today - dt.timedelta(days=limit)

    def due(day):
        # the deadline of a case admitted that day has passed
        return case((day < deadline, 1), else_=0)

    visits: dict[int, dict[int, int]] = {}
    for area_id, is_due, _k1, _k2, days, n in _dated(board, "visit", due):
        row = rows.get(area_id)
        if row is None:
            continue
        if days is None:
            if is_due:
                row.visits_due += n  # not visited, deadline passed: late
            continue
        row.visits_due += n
        if days <= limit:
            row.visited_on_time += n
        histogram = visits.setdefault(area_id, {})
        histogram[days] = histogram.get(days, 0) + n
    _medians(rows, visits, "median_days_to_visit", board)

    # need → first match, first match → first service, for the period's needs
    for name, attribute in (
        ("to_match", "median_days_to_match"),
        ("to_service", "median_days_to_service"),
    ):
        histograms: dict[int, dict[int, int]] = {}
        for area_id, _b, _k1, _k2, days, n in _dated(board, name):
            cell = histograms.setdefault(area_id, {})
            cell[days] = cell.get(days, 0) + n
        _medians(rows, histograms, attribute, board)


def _medians(rows, histograms: dict[int, dict[int, int]], attribute: str, board) -> None:
    merged: dict[int, int] = {}
    for area_id, histogram in histograms.items():
        if area_id in rows:
            setattr(rows[area_id], attribute, median(histogram))
            rows[area_id].bases[attribute] = sum(histogram.values())
        for days, n in histogram.items():
            merged[days] = merged.get(days, 0) + n
    setattr(board.total, attribute, median(merged))
    board.total.bases[attribute] = sum(merged.values())


def _needs(board: Dashboard, rows: dict[int, AreaRow]) -> None:
    needs = {d: dict.fromkeys(c.values(c.NEED_STATUSES), 0) for d in c.values(c.NEED_DIMENSIONS)}
    for area_id, _b, dimension, status, _d, n in summary.rows("needs", board.scope, board.refresh):
        needs.setdefault(dimension, {})[status] = needs[dimension].get(status, 0) + n
        if status == "open" and area_id in rows:
            rows[area_id].open_needs += n
    board.needs = needs

    histograms: dict[str, dict[int, int]] = {}
    for area_id, _b, dimension, _k2, days, n in _dated(board, "met"):
        if days is not None:
            cell = histograms.setdefault(dimension, {})
            cell[days] = cell.get(days, 0) + n
        if area_id in rows:
            rows[area_id].needs_met += n
    board.needs_median_days = {d: median(histograms.get(d, {})) for d in needs}
    board.needs_met_in_period = {d: sum(histograms.get(d, {}).values()) for d in needs}


def _projects(board: Dashboard, rows: dict[int, AreaRow]) -> None:
    scope = board.scope
    area = _area_column(Project, scope)
    stmt = (
        select(
            area,
            Project.community_id,
            Project.level,
            Project.status,
            Project.help_kind,
            func.count(),
        )
        .where(_where(Project, scope))
        .group_by(area, Project.community_id, Project.level, Project.status, Project.help_kind)
    )
    projects = {s: dict.fromkeys(c.values(c.HELP_KINDS), 0) for s in c.values(c.PROJECT_STATUSES)}
    per_community: dict[int, list[int]] = {}
    for area_id, community_id, level, status, kind, n in db.session.execute(stmt):
        projects[status][kind] = projects[status].get(kind, 0) + n
        live = status in LIVE_PROJECT_STATUSES
        if live and area_id in rows:
            rows[area_id].live_projects += n
        if level == "community" and community_id is not None:
            cell = per_community.setdefault(community_id, [0, 0])
            cell[0] += n
            cell[1] += n if live else 0
    board.projects = projects
    coverage = []
    for cid, cname, sid, sname, _n, _live in board.coverage:
        total, live = per_community.get(cid, (0, 0))
        coverage.append((cid, cname, sid, sname, total, live))
        if live:
            key = sid if board.by_street else cid
            if key in rows:
                rows[key].communities_covered += 1
    board.coverage = coverage

    reached = (
        select(area, func.count(distinct(project_beneficiaries.c.household_id)))
        .select_from(Project)
        .join(project_beneficiaries, project_beneficiaries.c.project_id == Project.id)
        .where(
            _where(Project, scope),
            Project.level == "household",
            Project.status.in_(LIVE_PROJECT_STATUSES),
        )
        .group_by(area)
    )
    for area_id, n in db.session.execute(reached):
        if area_id in rows:
            rows[area_id].households_reached = n


def _money_figures(board: Dashboard, rows: dict[int, AreaRow]) -> None:
    scope, period = board.scope, board.period
    if scope.role not in access.READ_ROLES[LedgerEntry]:
        return
    area = func.coalesce(_area_column(LedgerEntry, scope), DISTRICT_LEVEL)
    month = year_month(LedgerEntry.posted_on)
    money_in, money_out = net_in_out()
    readable = access.read_criterion(LedgerEntry, scope)
    if scope.street_id is not None:
        # a street's money is what was given or paid for it: the district-level rows a
        # clerk may read on the ledger (donations to the fund as a whole) are the
        # district's figures, not the street's
        readable = and_(readable, LedgerEntry.street_id == scope.street_id)
    stmt = (
        select(area, month, func.sum(money_in), func.sum(money_out))
        .where(readable, _in_period(LedgerEntry.posted_on, period))
        .group_by(area, month)
    )
    money = {m: (Decimal("0"), Decimal("0")) for m in board.months}
    for area_id, ym, total_in, total_out in db.session.execute(stmt):
        old_in, old_out = money.get(ym, (Decimal("0"), Decimal("0")))
        money[ym] = (old_in + _money(total_in), old_out + _money(total_out))
        if area_id in rows:
            rows[area_id].money_out += _money(total_out)
    board.money = money

    # spending by kind of help: what was paid (net of reversals) for projects of each kind;
    # a reversal counts against the kind of the entry it reverses
    reversed_entry = db.aliased(LedgerEntry)
    paid_project = func.coalesce(LedgerEntry.project_id, reversed_entry.project_id)
    kind = (
        select(Project.help_kind).where(Project.id == paid_project).correlate_except(Project)
    ).scalar_subquery()
    stmt = (
        select(kind, func.sum(money_out))
        .select_from(LedgerEntry)
        .outerjoin(reversed_entry, reversed_entry.id == LedgerEntry.reverses_id)
        .where(
            readable,
            _in_period(LedgerEntry.posted_on, period),
            (LedgerEntry.entry_type == "disbursement")
            | (
                (LedgerEntry.entry_type == "reversal")
                & (reversed_entry.entry_type == "disbursement")
            ),
        )
        .group_by(kind)
    )
    spent = {k or "": _money(v) for k, v in db.session.execute(stmt)}
    board.spending = [(k, spent.get(k, Decimal("0"))) for k in c.values(c.HELP_KINDS)]
    board.spending.append(("", spent.get("", Decimal("0"))))

    # fund-wide position, as the fund overview shows it: one statement
    net = (
        select(
            LedgerEntry.project_id.label("pid"),
            func.sum(
                case(
                    (LedgerEntry.direction == "in", LedgerEntry.amount_yuan),
                    else_=-LedgerEntry.amount_yuan,
                )
            ).label("net"),
        )
        .where(LedgerEntry.project_id.is_not(None))
        .group_by(LedgerEntry.project_id)
        .subquery()
    )
    earmarked = select(func.coalesce(func.sum(case((net.c.net > 0, net.c.net), else_=0)), 0))
    reserved = (
        select(func.coalesce(func.sum(SupportPlan.monthly_amount), 0))
        .select_from(PlanMonth)
        .join(SupportPlan, SupportPlan.id == PlanMonth.plan_id)
        .where(SupportPlan.status == "active", PlanMonth.status != "paid")
    )
    balance = select(func.coalesce(func.sum(FundAccount.balance), 0))
    row = db.session.execute(
        select(balance.scalar_subquery(), earmarked.scalar_subquery(), reserved.scalar_subquery())
    ).one()
    board.balance, board.earmarked, board.reserved = (_money(v) for v in row)


def _pledges(board: Dashboard) -> None:
    scope, period = board.scope, board.period
    if scope.role not in access.READ_ROLES[Pledge]:
        return
    start = dt.datetime.combine(period.start, dt.time.min)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min)
    approved = Pledge.status == "approved"
    stmt = (
        select(
            Organisation.id,
            Organisation.name,
            func.sum(Pledge.amount_yuan),
            func.sum(case((approved, Pledge.amount_yuan), else_=0)),
            func.sum(
                case((approved & Pledge.received_on.is_not(None), Pledge.amount_yuan), else_=0)
            ),
        )
        .join(Organisation, Organisation.id == Pledge.organisation_id)
        .where(
            access.read_criterion(Pledge, scope),
            Pledge.status.in_(("pending", "approved")),
            Pledge.kind == "money",
            Pledge.pledged_at >= start,
            Pledge.pledged_at < end,
        )
        .group_by(Organisation.id, Organisation.name)
        .order_by(Organisation.name)
    )
    board.pledges = [
        (oid, name, _money(p), _money(a), _money(r))
        for oid, name, p, a, r in db.session.execute(stmt)
    ]


def _activity(board: Dashboard) -> None:
    """The period's services (with evidence files), support-plan months paid and cases
    closed: one statement of three scalar subqueries."""
    scope, period = board.scope, board.period
    services = (
        select(func.count(ServiceRecord.id))
        .where(access.read_criterion(ServiceRecord, scope))
        .where(_in_period(ServiceRecord.delivered_on, period))
    )
    evidence = (
        select(func.count(StoredFile.id))
        .join(ServiceRecord, ServiceRecord.id == StoredFile.service_record_id)
        .where(access.read_criterion(ServiceRecord, scope))
        .where(_in_period(ServiceRecord.delivered_on, period))
    )
    closed = select(func.count(CaseTransition.id)).where(
        access.read_criterion(CaseTransition, scope),
        CaseTransition.to_status == "closed",
        CaseTransition.occurred_at >= dt.datetime.combine(period.start, dt.time.min),
        CaseTransition.occurred_at
        < dt.datetime.combine(period.end, dt.time.min) + dt.timedelta(days=1),
    )
    paid = (
        select(func.count(PlanMonth.id), func.coalesce(func.sum(LedgerEntry.amount_yuan), 0))
        .join(LedgerEntry, LedgerEntry.plan_month_id == PlanMonth.id)
        .where(
            access.read_criterion(PlanMonth, scope),
            PlanMonth.status == "paid",
            LedgerEntry.entry_type == "disbursement",
            _in_period(LedgerEntry.posted_on, period),
        )
        .subquery()
    )
    paid_columns = list(paid.c)
    row = db.session.execute(
        select(
            services.scalar_subquery(),
            evidence.scalar_subquery(),
            closed.scalar_subquery(),
            select(paid_columns[0]).scalar_subquery(),
            select(paid_columns[1]).scalar_subquery(),
        )
    ).one()
    board.services, board.service_evidence, board.cases_closed = (int(v or 0) for v in row[:3])
    board.plan_months_paid = int(row[3] or 0)
    board.plan_months_paid_amount = _money(row[4])


# ------------------------------------------------------------ sponsors (我们的资助)
def sponsor_timeline(impact, organisation_id: int) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    """An organisation's support month by month: (month, pledged, received, spent).

    Pledged: its pending and approved money pledges by the month they were made;
    received: its approved pledges by the month they were received; spent: its share of
    what the fund paid for each project it supports (``impact``: ``sponsorship.
    sponsor_impact``, whose per-project share this uses, so the months add up to its
    cards), by the month paid, net of reversals. Two statements."""
    month = year_month(Pledge.pledged_at)
    received_month = year_month(Pledge.received_on)
    rows: dict[str, list[Decimal]] = {}

    def cell(ym):
        return rows.setdefault(ym, [Decimal("0"), Decimal("0"), Decimal("0")])

    own = (
        Pledge.organisation_id == organisation_id,
        Pledge.kind == "money",
        Pledge.status.in_(("pending", "approved")),
    )
    stmt = (
        select(month, received_month, Pledge.status, func.sum(Pledge.amount_yuan))
        .where(*own)
        .group_by(month, received_month, Pledge.status)
    )
    for ym, received_ym, status, amount in db.session.execute(stmt):
        cell(ym)[0] += _money(amount)
        if status == "approved" and received_ym is not None:
            cell(received_ym)[1] += _money(amount)
    shares = {p.project.id: p.share for p in impact.progress if p.share}
    if shares:
        reversed_entry = db.aliased(LedgerEntry)
        project = func.coalesce(LedgerEntry.project_id, reversed_entry.project_id)
        _in, money_out = net_in_out()
        paid_month = year_month(LedgerEntry.posted_on)
        stmt = (
            select(project, paid_month, func.sum(money_out))
            .select_from(LedgerEntry)
            .outerjoin(reversed_entry, reversed_entry.id == LedgerEntry.reverses_id)
            .where(project.in_(list(shares)))
            .group_by(project, paid_month)
        )
        for pid, ym, amount in db.session.execute(stmt):
            spent = (_money(amount) * shares[pid]).quantize(Decimal("0.01"))
            if spent:
                cell(ym)[2] += spent
    return [(ym, *rows[ym]) for ym in sorted(rows)]
