"""The special fund's admin views: the read-only ledger with its posting forms, the
support plans and their months, the overview and the anomalies page. Every rule is in
``app/services/fund/``; these views collect input, call it and show the result."""

from app.admin.views.fund.ledger import LedgerView
from app.admin.views.fund.overview import FundOverviewView
from app.admin.views.fund.plans import PlanMonthView, SupportPlanView

__all__ = ["FundOverviewView", "LedgerView", "PlanMonthView", "SupportPlanView"]
