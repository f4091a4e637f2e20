"""数据看板: the district at a glance, for a period, narrowed by the street switcher.

The figures come from ``app/services/dashboard`` (scoped SQL aggregates); this view
picks the period, sorts the comparison table, and turns each count into a link to the
list it counts, already filtered (``list_url``: the list views' own filter arguments).
"""

from __future__ import annotations

import datetime as dt

from flask import current_app, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.model.filters import BaseDateBetweenFilter
from flask_babel import gettext as _
from flask_login import current_user

from app import access
from app.access import Permission
from app.admin.base import GatedBaseView
from app.admin.gate import requires
from app.extensions import db
from app.models import Area, Household, LedgerEntry, Need, Pledge, Project
from app.models import choices as c
from app.services import dashboard

#: comparison-table columns that can be sorted, and the row attribute each reads
SORT_KEYS = (
    "name",
    "households",
    "active",
    "helping_per_100",
    "new_cases",
    "new_per_100",
    "on_time_share",
    "median_days_to_visit",
    "median_days_to_match",
    "median_days_to_service",
    "open_needs",
    "open_needs_per_100",
    "needs_met",
    "live_projects",
    "communities_covered",
    "reached_per_100",
    "money_out",
)


def _model_view(endpoint: str):
    admin = current_app.extensions["admin"][0]
    return next(v for v in admin._views if getattr(v, "endpoint", None) == endpoint)


def list_url(endpoint: str, filters: list[tuple[object, object]]) -> str:
    """The list page of ``endpoint`` filtered by ``filters`` ([(column, value)]), built
    from the view's own filters: Flask-Admin names them by their position in the view's
    filter list (``flt0_3=...``). A (start, end) value picks the column's date-range
    filter; None values are left out. A column the view cannot filter by is a
    programming error (LookupError), so a link never silently shows another count."""
    view = _model_view(endpoint)
    args: dict[str, str] = {}
    for column, value in filters:
        if value is None:
            continue
        is_range = isinstance(value, tuple)
        for i, flt in enumerate(view._filters):
            if not isinstance(flt, BaseSQLAFilter) or flt.column is not column:
                continue
            if is_range != isinstance(flt, BaseDateBetweenFilter):
                continue
            text = f"{value[0]:%Y-%m-%d} to {value[1]:%Y-%m-%d}" if is_range else str(value)
            args[f"flt{len(args)}_{view.get_filter_arg(i, flt)}"] = text
            break
        else:
            raise LookupError(f"the {endpoint} list has no filter on {column}")
    return url_for(f"{endpoint}.index_view", **args)


class Links:
    """The list behind each figure of one dashboard. The lists are scoped to the user
    already; a row of the comparison table adds its street (or community)."""

    def __init__(self, board: dashboard.Dashboard):
        self.board = board
        self.period = (board.period.start, board.period.end)

    def _area(self, model, area_id):
        column = model.street_id if self.board.by_street else model.community_id
        return (column, area_id)

    def households(self, area_id=None, status=None, channel=None, *, new=False):
        filters = [
            self._area(Household, area_id),
            (Household.status, status),
            (Household.intake_channel, channel),
        ]
        if new:
            filters.append((Household.intake_date, self.period))
        return list_url("household", filters)

    def needs(self, area_id=None, dimension=None, status=None):
        return list_url(
            "need",
            [self._area(Need, area_id), (Need.dimension, dimension), (Need.status, status)],
        )

    def projects(self, status=None, help_kind=None, *, community_id=None, level=None):
        return list_url(
            "project",
            [
                (Project.community_id, community_id),
                (Project.status, status),
                (Project.help_kind, help_kind),
                (Project.level, level),
            ],
        )

    def area_projects(self, area_id):
        return list_url("project", [self._area(Project, area_id)])

    def ledger(self, month: str | None = None, area_id=None):
        start, end = self.period
        if month is not None:
            first = dt.date.fromisoformat(month + "-01")
            start, end = max(first, start), min(dashboard.month_end(first), end)
        return list_url(
            "ledger", [self._area(LedgerEntry, area_id), (LedgerEntry.posted_on, (start, end))]
        )

    def pledges(self, organisation_id):
        return list_url("pledge", [(Pledge.organisation_id, organisation_id)])


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        return None


def chart_data(board: dashboard.Dashboard) -> dict:
    """What the charts draw (``static/js/dashboard.js``): labels already translated,
    numbers as numbers; the same figures as the tables beside them."""
    channels = c.INTAKE_CHANNELS
    return {
        "intake": {
            "categories": board.months,
            "series": [
                {
                    "name": str(label),
                    "data": [board.intake.get(m, {}).get(value, 0) for m in board.months],
                }
                for value, label in channels
            ],
        },
        "households": {
            "categories": [row.name for row in board.areas],
            "series": [
                {
                    "name": _("Registered or assessed"),
                    "data": [r.households - r.helping - r.closed for r in board.areas],
                },
                {"name": _("Being helped"), "data": [r.helping for r in board.areas]},
                {"name": _("Closed"), "data": [r.closed for r in board.areas]},
            ],
        },
        "needs": {
            "categories": [str(label) for _v, label in c.NEED_DIMENSIONS],
            "series": [
                {
                    "name": str(label),
                    "data": [board.needs[d].get(value, 0) for d, _l in c.NEED_DIMENSIONS],
                }
                for value, label in c.NEED_STATUSES
                if value != "withdrawn"
            ],
        },
        "money": {
            "categories": board.months,
            "in": [float(board.money.get(m, (0, 0))[0]) for m in board.months],
            "out": [float(board.money.get(m, (0, 0))[1]) for m in board.months],
            "labels": [_("Money in"), _("Money out")],
        },
        "spending": [
            {"name": _help_kind_label(kind), "value": float(amount)}
            for kind, amount in board.spending
            if amount
        ],
        "pledges": {
            "categories": [name for _id, name, *_rest in board.pledges],
            "pledged": [float(p) for _id, _n, p, _a, _r in board.pledges],
            "received": [float(r) for _id, _n, _p, _a, r in board.pledges],
            "labels": [_("Pledged"), _("Received")],
        },
    }


def _help_kind_label(kind: str) -> str:
    return c.label(c.HELP_KINDS, kind) if kind else _("Not for a project (plans, households)")


class DashboardView(GatedBaseView):
    """The dashboard page: the period picker, the charts with their tables, the
    comparison table, coverage and money."""

    @expose("/")
    @requires(Permission.SEE_DASHBOARD)
    def index(self):
        today = dt.date.today()
        period = dashboard.period_for(
            request.args.get("period"),
            today,
            _date(request.args.get("start")),
            _date(request.args.get("end")),
        )
        scope = access.scope_of(current_user)
        board = dashboard.build(scope, period, today=today)
        sort = request.args.get("sort", "name")
        sort = sort if sort in SORT_KEYS else "name"
        descending = request.args.get("order") == "desc"
        rows = _sorted(board.areas, sort, descending)
        street = db.session.get(Area, scope.street_id) if scope.street_id else None
        period_args = {"period": period.kind}
        if period.kind == "custom":
            period_args.update(start=f"{period.start:%Y-%m-%d}", end=f"{period.end:%Y-%m-%d}")

        def sort_url(key):
            order = "asc" if key == sort and descending else "desc"
            if key != sort:
                order = "asc" if key == "name" else "desc"
            return url_for(".index", sort=key, order=order, **period_args)

        return self.render(
            "dashboard/index.html",
            board=board,
            rows=rows,
            links=Links(board),
            street=street,
            sort=sort,
            descending=descending,
            sort_url=sort_url,
            period_args=period_args,
            charts=chart_data(board),
            c=c,
            help_kind_label=_help_kind_label,
            may_see_fund=access.can(current_user, Permission.SEE_FUND),
            may_request_report=access.can(current_user, Permission.REQUEST_REPORT),
            visit_days=current_app.config.get("VISIT_OVERDUE_DAYS", 7),
        )


def _sorted(rows, key: str, descending: bool):
    """Rows by ``key``; rows without a value (no base for a rate) last either way."""
    if key == "name":
        return sorted(rows, key=lambda r: r.name, reverse=descending)
    present = [r for r in rows if getattr(r, key) is not None]
    missing = [r for r in rows if getattr(r, key) is None]
    return sorted(present, key=lambda r: (getattr(r, key), r.name), reverse=descending) + missing
