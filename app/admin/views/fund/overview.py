"""The fund's overview and anomalies pages. Figures: ``app/services/fund/reports.py``."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from app.access import Permission
from app.admin.base import GatedBaseView
from app.admin.gate import requires
from app.admin.views.fund.common import (
    may_post,
)
from app.services import fund


class FundOverviewView(GatedBaseView):
    """``/admin/fund/``: balance, earmarked and free money, this month's and year's
    totals, the months awaiting evidence; ``/admin/fund/anomalies/``: monitoring."""

    @expose("/")
    @requires(Permission.SEE_FUND)
    def index(self):
        today = dt.date.today()
        return self.render(
            "admin/fund/overview.html",
            position=fund.fund_position(current_user, today),
            todo=fund.plan_month_todo_items(current_user, today),
            today=today,
            may_post=may_post(),
        )

    @expose("/anomalies/")
    @requires(Permission.SEE_FUND)
    def anomalies(self):
        today = dt.date.today()
        return self.render(
            "admin/fund/anomalies.html",
            found=fund.anomalies(current_user, today),
            today=today,
            overdue_days=current_app.config["PLEDGE_RECEIPT_OVERDUE_DAYS"],
            problems={
                "no_evidence": _("No evidence"),
                "not_checked": _("Evidence not checked"),
                "not_paid": _("Checked, not paid"),
            },
        )
