"""A sponsor's "our support" page: the cards and the table's rows agree, worked out by
hand. They used to disagree: a card said 已到位 ¥0.00 while the row of a project shared
with another sponsor showed that sponsor's ¥300.00 received, and a pending pledge
counted on a card had no row at all."""

import datetime as dt
import re
from decimal import Decimal

from app.services import fund, sponsorship
from app.validation import format_yuan
from tests.factories import make_pledge, make_project


def _situation(world):
    """Three projects of the worker's community, funded through the special fund:

    - shared (budget 3,000): ours approved 1,500; the other sponsor's approved 300,
      received 2026-04-01; the fund paid out 900 for it.
    - pledged (budget 1,000): ours 600, still pending.
    - alone (budget 2,000): ours approved 800, received 2026-04-02; the fund paid out
      500 and reversed 100 of it (one payment reversed whole: 100 paid, then undone).
    """
    ours, theirs = world.sponsor.organisation, world.other_sponsor.organisation
    shared = make_project(world.community, budget=Decimal("3000"), status="in_progress")
    pledged = make_project(world.community, budget=Decimal("1000"))
    alone = make_project(world.community, budget=Decimal("2000"), status="in_progress")
    make_pledge(shared, ours, amount="1500", status="approved")
    make_pledge(shared, theirs, amount="300", status="approved", received_on=dt.date(2026, 4, 1))
    make_pledge(pledged, ours, amount="600")
    make_pledge(alone, ours, amount="800", status="approved", received_on=dt.date(2026, 4, 2))
    fund.post_donation(
        user=world.admin,
        amount="5000",
        posted_on=dt.date(2026, 4, 1),
        receipt_number="JJH-9",
        donor_name="捐赠人",
    )
    for project, amount in ((shared, "900"), (alone, "400"), (alone, "100")):
        entry = fund.post_disbursement(
            user=world.admin,
            amount=amount,
            posted_on=dt.date(2026, 4, 5),
            purpose="采购",
            payee_person="收款人",
            project=project,
        )
    fund.reverse_entry(entry, user=world.admin, reason="重复", posted_on=dt.date(2026, 4, 6))
    return shared, pledged, alone


def test_cards_are_the_totals_of_our_own_columns(world, login):
    shared, pledged, alone = _situation(world)
    impact = sponsorship.sponsor_impact(world.sponsor.organisation)

    rows = {
        p.project.id: (p.own_pledged, p.own_approved, p.own_received, p.own_spent)
        for p in impact.progress
    }
    assert rows == {
        # 900 paid × 1,500 / (1,500 + 300) of the approved pledges = 750
        shared.id: (Decimal("1500"), Decimal("1500"), Decimal("0"), Decimal("750.00")),
        # a pending pledge: in its row and on the pledged card, nothing else yet
        pledged.id: (Decimal("600"), Decimal("0"), Decimal("0"), Decimal("0.00")),
        # 500 paid − 100 reversed, all ours
        alone.id: (Decimal("800"), Decimal("800"), Decimal("800"), Decimal("400.00")),
    }
    assert (impact.pledged, impact.approved, impact.received, impact.spent) == (
        Decimal("2900"),
        Decimal("2300"),
        Decimal("800"),
        Decimal("1150.00"),
    )
    assert impact.projects == 2  # supported: shared and alone; pledged is only pledged

    page = login(world.sponsor).get("/admin/sponsor/impact/").text
    cards = {
        name: re.search(rf'id="impact-{name}">([^<]*)<', page).group(1)
        for name in ("pledged", "approved", "received", "spent")
    }
    assert cards == {
        "pledged": "¥2,900.00",
        "approved": "¥2,300.00",
        "received": "¥800.00",
        "spent": "¥1,150.00",
    }
    total = re.search(r'id="supported-projects-total">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r"¥[\d,]+\.\d\d", total) == list(cards.values())
    shared_row = re.search(rf'data-project-id="{shared.id}">(.*?)</tr>', page, re.S).group(1)
    # budget, pledged by all sponsors, then ours: pledged, approved, received, spent
    assert re.findall(r"¥[\d,]+\.\d\d", shared_row) == [
        "¥3,000.00",
        "¥1,800.00",
        "¥1,500.00",
        "¥1,500.00",
        "¥0.00",  # the other sponsor's ¥300.00 received is not ours
        "¥750.00",
    ]


def test_amounts_read_one_way(app):
    assert format_yuan(Decimal("38900")) == "¥38,900.00"
    assert format_yuan(Decimal("114200.5")) == "¥114,200.50"
    assert format_yuan(Decimal("-300")) == "-¥300.00"
    assert format_yuan(Decimal("0.005")) == "¥0.01"
    assert format_yuan(None) == ""
