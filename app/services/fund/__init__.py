"""The special fund (社会救助专项基金), in three rooms:

- ``ledger``: the account, donations in, disbursements out, reversals, evidence on a
  posted entry, and the check that the balance matches the ledger;
- ``plans``: recurring support plans, their months, the months' evidence, checking
  and paying a month (a payment is a ledger disbursement);
- ``reports``: the fund's position, the anomalies, and the support-plan months on the
  to-do list (read only).

Imports point down only: ``reports`` may import ``plans`` and ``ledger``, ``plans``
may import ``ledger``, and ``ledger`` imports neither. Callers use the package
(``from app.services import fund``; ``fund.post_donation(...)``): every public name is
re-exported here.
"""

from app.services.files import attach_files
from app.services.fund.ledger import (
    ACCOUNT_NAME,
    CENT,
    NotAllowed,
    add_entry_evidence,
    check_balance,
    get_account,
    is_reversible,
    ledger_balance,
    money,
    pledge_outstanding,
    pledge_received,
    post_disbursement,
    post_donation,
    refresh_balance,
    reverse_entry,
    signed_amount,
)
from app.services.fund.plans import (
    MAX_PLAN_MONTHS,
    check_month,
    check_plan_deletable,
    create_plan,
    month_amount,
    month_evidence_kinds,
    pay_plan_month,
    sync_plan_months,
    upload_month_evidence,
)
from app.services.fund.reports import (
    MissingMonth,
    anomalies,
    disbursements_without_evidence,
    fund_position,
    ledger_totals,
    month_start,
    plan_month_todo_items,
    plan_months_missing,
    plan_reservations,
    pledges_not_received,
    project_earmarks,
    projects_over_budget,
)

__all__ = [
    "ACCOUNT_NAME",
    "CENT",
    "MAX_PLAN_MONTHS",
    "MissingMonth",
    "NotAllowed",
    "add_entry_evidence",
    "anomalies",
    # the evidence upload the plan form's save calls (app/admin/views/fund.py)
    "attach_files",
    "check_balance",
    "check_month",
    "check_plan_deletable",
    "create_plan",
    "disbursements_without_evidence",
    "fund_position",
    "get_account",
    "is_reversible",
    "ledger_balance",
    "ledger_totals",
    "money",
    "month_amount",
    "month_evidence_kinds",
    "month_start",
    "pay_plan_month",
    "plan_month_todo_items",
    "plan_months_missing",
    "plan_reservations",
    "pledge_outstanding",
    "pledge_received",
    "pledges_not_received",
    "post_disbursement",
    "post_donation",
    "project_earmarks",
    "projects_over_budget",
    "refresh_balance",
    "reverse_entry",
    "signed_amount",
    "sync_plan_months",
    "upload_month_evidence",
]
