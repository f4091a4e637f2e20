"""Ledger dates: a posting can never be edited, so a date in the future is refused
(whoever posts: form, service, CLI), and a malformed date is refused, never replaced."""

from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import LedgerEntry
from app.services import fund
from app.validation import InvalidValue
from tests.factories import count, fund_balance

FUTURE = dt.date.today() + dt.timedelta(days=200)


def donate(world, posted_on):
    return fund.post_donation(
        user=world.admin, amount="300", posted_on=posted_on, receipt_number="R-1", donor_name="甲"
    )


def test_a_donation_dated_in_the_future_is_refused_and_changes_nothing(app, world):
    with pytest.raises(InvalidValue):
        donate(world, FUTURE)
    assert count(LedgerEntry) == 0 and fund_balance() == 0


def test_a_reversal_dated_in_the_future_is_refused(app, world):
    entry = donate(world, dt.date.today())
    with pytest.raises(InvalidValue):
        fund.reverse_entry(entry, user=world.admin, reason="录错了", posted_on=FUTURE)
    assert count(LedgerEntry) == 1 and fund_balance() == 300


@pytest.mark.parametrize("raw", [FUTURE.isoformat(), "2026-02-30", "明天"])
def test_the_donation_form_refuses_a_bad_date_beside_the_field(app, world, login, raw):
    response = login(world.admin).post(
        "/admin/ledger/donation/",
        data={"amount": "300", "posted_on": raw, "receipt_number": "R-9", "donor_name": "乙"},
    )
    assert response.status_code == 200  # the form again, with the message
    assert count(LedgerEntry) == 0


@pytest.mark.parametrize("raw", [FUTURE.isoformat(), "2026-13-01", "yesterday"])
def test_a_reversal_with_a_bad_date_is_refused_not_replaced(app, world, login, raw):
    entry = donate(world, dt.date.today())
    db.session.commit()
    client = login(world.admin)
    client.post("/admin/ledger/reverse/", data={"id": entry.id, "reason": "录错", "posted_on": raw})
    assert count(LedgerEntry) == 1
