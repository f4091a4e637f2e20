"""Every custom form the panel shows works for whoever it is shown to.

The casework, matching, evidence, pledge and fund pages carry their own POST forms
(change the case status, accept or release a match, share a photo, check or pay a
plan month, decide a pledge, reverse a ledger entry ...). For every role, this walks
the pages of one situation that has a record for each of them, finds every POST form
the page offers that role, and submits it as a browser would — each submit button
once, blanks filled the way a person would fill them — and expects the panel to
answer with a page that works (directly, or after its redirect): success, or a message the person can act
on; never an error page, never the generic "something went wrong". (Unexpected
exceptions are raised in tests, so a bug behind a form fails here.)

A new custom form on any of these pages is covered by itself.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from app.extensions import db
from app.services import casework_records, files, fund
from tests.factories import (
    jpeg,
    make_household,
    make_match,
    make_need,
    make_organisation,
    make_pledge,
    make_project,
    make_resource,
    make_service_record,
    make_support_plan,
)

ROLES = ["district_admin", "district_manager", "street_clerk", "community_worker", "sponsor"]
GENERIC_FAILURE = ("Something went wrong", "操作出错", "出错了")


class PostForms(HTMLParser):
    """Every ``<form method="post">`` of a page: action, fields, submit buttons."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = {"action": unescape(a.get("action") or ""), "fields": [], "buttons": []}
            self._form["files"] = []
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind == "submit":
                form["buttons"].append((name, a.get("value") or ""))
            elif kind == "file":
                form["files"].append(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    form["fields"].append((name, a.get("value") or "y", kind))
            else:
                form["fields"].append((name, a.get("value") or "", kind))
        elif tag == "button" and (a.get("type") or "submit") == "submit":
            form["buttons"].append((name, a.get("value") or "") if name else (None, None))
        elif tag == "select" and name:
            self._select = [name, None]
        elif tag == "option" and self._select is not None:
            if self._select[1] is None or "selected" in a:
                self._select[1] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name

    def handle_endtag(self, tag):
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            self._form["fields"].append((self._select[0], self._select[1] or "", "select"))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form["fields"].append((self._textarea, "", "textarea"))
            self._textarea = None
        elif tag == "form":
            self.forms.append(self._form)
            self._form = None


def filled(value: str, kind: str, name: str) -> str:
    """What a person types into a blank field."""
    if value or kind in ("select", "hidden"):
        return value
    if kind == "date" or "_on" in name or name.endswith("date"):
        return dt.date.today().isoformat()
    if kind == "number" or name in ("units", "quantity", "amount"):
        return "1"
    return "测试说明"


def submissions(html: str, page_url: str):
    parser = PostForms()
    parser.feed(html)
    for form in parser.forms:
        action = form["action"] or page_url  # a form without an action posts to its page
        if not action.startswith("/admin/") or re.match(r"^/admin/[^/]+/(delete|action)/", action):
            continue  # the built-in delete and bulk actions are the access matrix's
        base = [(n, unescape(filled(v, k, n))) for n, v, k in form["fields"]]
        for button in form["buttons"] or [(None, None)]:
            data = MultiDict(base + ([button] if button[0] else []))
            for name in form["files"]:
                data.add(name, FileStorage(io.BytesIO(jpeg()), filename="照片.jpg"))
            yield action, data


@pytest.fixture
def situation(world):
    """One record for each custom form, in the worker's community."""
    household = make_household(world.community)
    need = make_need(household)
    make_resource(community=world.community)  # a suggestion to accept
    matched_need = make_need(household)
    make_match(matched_need, make_resource(community=world.community))
    record = make_service_record(household)
    files.attach_files([("照片.jpg", jpeg())], service_record=record)
    plan = make_support_plan(household)
    plan.months[0].status = "evidence_uploaded"
    project = make_project(world.community)
    pending = make_pledge(project, make_organisation())
    own = make_pledge(project, world.sponsor.organisation)
    in_kind = make_pledge(project, make_organisation(), kind="in_kind", status="approved")
    db.session.commit()
    entry = fund.post_donation(
        user=world.admin,
        amount="500",
        posted_on=dt.date.today(),
        receipt_number="R-0001",
        donor_name="爱心人士",
    )
    db.session.commit()
    assert casework_records  # the evidence service made the record's file
    return {
        "pages": [
            f"/admin/household/details/?id={household.id}",
            f"/admin/household/story/?id={household.id}",
            "/admin/household/",
            f"/admin/need_match/suggest/?need_id={need.id}",
            f"/admin/need_match/details/?id={matched_need.matches[0].id}",
            f"/admin/service_record/details/?id={record.id}",
            f"/admin/plan_month/details/?id={plan.months[0].id}",
            f"/admin/plan_month/details/?id={plan.months[1].id}",
            f"/admin/pledge/details/?id={pending.id}",
            f"/admin/pledge/details/?id={in_kind.id}",
            f"/admin/sponsor/projects/details/?id={project.id}",
            f"/admin/sponsor/pledges/details/?id={own.id}",
            f"/admin/ledger/details/?id={entry.id}",
            "/admin/ledger/donation/",
            "/admin/ledger/disbursement/",
        ]
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_form_a_page_offers_works(app, world, login, situation, role):
    client = login(world.user(role))
    submitted = []
    for page_url in situation["pages"]:
        page = client.get(page_url)
        if page.status_code in (403, 404):
            continue  # not this role's page (the access matrix proves the refusal)
        assert page.status_code == 200, (page_url, page.status_code)
        for action, data in submissions(page.get_data(as_text=True), page_url):
            response = client.post(action, data=data)
            where = (page_url, action, dict(data))
            # a redirect to the next page, or a page of its own (a form shown again
            # with its message; the details page with a revealed field)
            assert response.status_code in (200, 302), where
            landed = response
            if response.status_code == 302:
                # the street switcher lands on the list (a record may be outside it)
                landed = client.get(response.headers["Location"], follow_redirects=True)
            assert landed.status_code == 200, where
            text = landed.get_data(as_text=True)
            assert not any(g in text for g in GENERIC_FAILURE), where
            submitted.append(action.split("?")[0])
    offered_to = {
        "district_admin": 14,
        "street_clerk": 10,
        "community_worker": 7,
        "sponsor": 2,
        "district_manager": 2,
    }
    assert len(set(submitted)) >= offered_to[role], sorted(set(submitted))
