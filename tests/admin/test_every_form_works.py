"""Every form works for the person it is meant for — proven by walking the views.

For every admin model view and every role the panel offers the form to:

(a) *create*: open the create form, fill it with the values of a valid record of that
    model (made by the factories, inside the role's area) with its unique fields made
    new, save, and find one more record;
(b) *save back unchanged*: open that record's edit form, post it back exactly as the
    browser would, and find no error and nothing changed.

A new model view is covered without a new test: it must only have a template record
in ``TEMPLATES`` (the test fails and says so when it has none). Custom forms of the
casework and the fund (status moves, matching, pledges, plan months) have their own
tests beside their views; this walk covers the panel's generic create/edit forms.
"""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import (
    Area,
    Assessment,
    AuditEvent,
    CaseTransition,
    HardshipCategory,
    Household,
    LedgerEntry,
    Member,
    Need,
    NeedMatch,
    Organisation,
    PlanMonth,
    Pledge,
    Project,
    Resource,
    ServiceRecord,
    SupportPlan,
    User,
)
from app.validation import ID_NUMBER_PATTERN
from tests.factories import (
    make_assessment,
    make_household,
    make_match,
    make_member,
    make_need,
    make_organisation,
    make_pledge,
    make_project,
    make_resource,
    make_service_record,
    make_support_plan,
    new_id_number,
)

#: suffixes that make copied values unique (not the clock: two calls can share it)
_serial = itertools.count(1)

ROLES = ["district_admin", "district_manager", "street_clerk", "community_worker", "sponsor"]
ERROR_MARKERS = ("alert-danger", "has-error", "is-invalid", "invalid-feedback")


# ---------------------------------------------------------------- the forms
class FormReader(HTMLParser):
    """The fields of the page's main form, with the values a browser would post."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.in_form = False
        self._select: str | None = None
        self._select_options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""
        self.file_fields: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and ("admin-form" in (a.get("class") or "") or a.get("method") == "POST"):
            self.in_form = True
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset"):
                return
            if kind == "file":
                self.file_fields.append(name)
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value") or "y"))
                return
            self.fields.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select, self._select_options = name, []
            self._multiple = "multiple" in a
        elif tag == "option" and self._select is not None:
            self._select_options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form" and self.in_form:
            self.in_form = False
        if tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._select_options if selected]
            if not chosen and self._select_options and not self._multiple:
                chosen = [self._select_options[0][0]]  # what a browser posts
            self.fields.extend((self._select, v) for v in chosen)
            self._select = None
        if tag == "textarea" and self._textarea is not None:
            # browsers drop the newline that follows <textarea>
            text = self._text.removeprefix("\r\n").removeprefix("\n")
            self.fields.append((self._textarea, text))
            self._textarea = None


def read_form(html: str) -> FormReader:
    import html as html_lib

    reader = FormReader()
    reader.feed(html)
    reader.fields = [(k, html_lib.unescape(v)) for k, v in reader.fields]
    return reader


def errors_on(html: str) -> list[str]:
    """Messages of a refused form (flash errors and field errors), as plain text."""
    found = re.findall(
        r'class="[^"]*(?:alert-danger|invalid-feedback|help-block)[^"]*"[^>]*>(.*?)</',
        html,
        flags=re.S,
    )
    return [re.sub(r"<[^>]+>|\s+", " ", f).strip() for f in found if f.strip()]


# ------------------------------------------------------- template records
def _household_with_a_member(world):
    household = make_household(world.community, head_phone="13900001111")
    make_member(household)  # its inline row is posted back with its own ID number
    return household


def _plan_month(world):
    plan = make_support_plan(make_household(world.community))
    return plan.months[0]


#: one valid record per model, inside the worker's community (so inside every staff
#: role's area); a new model view needs one line here
TEMPLATES = {
    Household: lambda w: _household_with_a_member(w),
    Member: lambda w: make_member(make_household(w.community)),
    Need: lambda w: make_need(make_household(w.community)),
    Assessment: lambda w: make_assessment(make_household(w.community)),
    CaseTransition: None,  # read-only: written by casework.transition_case
    Resource: lambda w: make_resource(community=w.community),
    Organisation: lambda w: make_organisation(street=w.street),
    NeedMatch: lambda w: make_match(
        make_need(make_household(w.community)), make_resource(community=w.community)
    ),
    ServiceRecord: lambda w: make_service_record(make_household(w.community)),
    Project: lambda w: make_project(w.community),
    Pledge: lambda w: make_pledge(make_project(w.community), make_organisation()),
    LedgerEntry: None,  # read-only: posted through the fund's forms
    SupportPlan: lambda w: make_support_plan(make_household(w.community)),
    PlanMonth: _plan_month,
    Area: lambda w: w.community,
    HardshipCategory: lambda w: _category(),
    User: lambda w: w.worker,
    AuditEvent: None,  # read-only: written by the session listener (app/models/audit.py)
}


def _category():
    n = next(_serial)
    row = HardshipCategory(code=f"cat{n}", name=f"测试类别{n}")
    db.session.add(row)
    db.session.flush()
    return row


def model_views(app):
    from app.admin.base import ScopedModelView

    admin = app.extensions["admin"][0]
    return [v for v in admin._views if isinstance(v, ScopedModelView)]


def view_ids():
    from app import create_app
    from config import TestConfig

    app = create_app(TestConfig)
    return [v.endpoint for v in model_views(app)]


VIEW_ENDPOINTS = view_ids()


def view_named(app, endpoint):
    return next(v for v in model_views(app) if v.endpoint == endpoint)


def offered(client, view, what: str) -> bool:
    """Does the panel offer this form to the logged-in user (a link on the list)?"""
    page = client.get(f"/admin/{view.endpoint}/")
    if page.status_code != 200:
        return False
    marker = "/new/" if what == "create" else "/edit/"
    return f"/admin/{view.endpoint}{marker}" in page.get_data(as_text=True)


def columns_of(row) -> dict:
    mapper = sa_inspect(type(row))
    skip = {"updated_at", "updated_by_id", "created_at"}
    # an untouched empty text box posts "", which is the same as nothing
    return {
        c.key: (None if getattr(row, c.key) == "" else getattr(row, c.key))
        for c in mapper.column_attrs
        if c.key not in skip
    }


def unique_columns(model) -> set[str]:
    names = set()
    for column in model.__table__.columns:
        if column.unique:
            names.add(column.key)
    for constraint in model.__table__.constraints:
        if constraint.__class__.__name__ == "UniqueConstraint":
            names.update(c.key for c in constraint.columns)
    return names


def made_new(model, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The fields of a record, with whatever must be unique made new: ID numbers
    (also of inline members), and the model's unique text columns."""
    unique = unique_columns(model)
    out = []
    for name, value in fields:
        if name == "csrf_token":
            out.append((name, value))
        elif ID_NUMBER_PATTERN.fullmatch(value or ""):
            out.append((name, new_id_number()))
        elif name in unique and value:
            out.append((name, f"{value}{next(_serial)}"))
        else:
            out.append((name, value))
    return out


def situation(app, world, login, endpoint, role, what):
    """The view, a committed template record of its model, and a client of ``role``;
    skips when the view is read-only or the panel does not offer ``what`` to the role."""
    view = view_named(app, endpoint)
    if view.model not in TEMPLATES:
        pytest.fail(f"add a template record for {view.model.__name__} to TEMPLATES")
    if TEMPLATES[view.model] is None:
        pytest.skip("read-only view")
    record = TEMPLATES[view.model](world)
    db.session.commit()
    client = login(world.user(role))
    if not offered(client, view, what):
        pytest.skip("not offered to this role (its refusal: the access matrix)")
    return view, record, client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", VIEW_ENDPOINTS)
def test_each_edit_form_saves_back_unchanged(app, world, login, endpoint, role):
    view, record, client = situation(app, world, login, endpoint, role, "edit")
    before = columns_of(record)
    page = client.get(f"/admin/{endpoint}/edit/?id={record.id}")
    assert page.status_code == 200, page.status_code
    form = read_form(page.get_data(as_text=True))
    response = client.post(f"/admin/{endpoint}/edit/?id={record.id}", data=MultiDict(form.fields))
    body = response.get_data(as_text=True)
    assert response.status_code == 302, errors_on(body) or body[:2000]
    db.session.expire_all()
    after = columns_of(db.session.get(view.model, record.id))
    assert after == before
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert errors_on(followed) == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", VIEW_ENDPOINTS)
def test_each_create_form_makes_a_record(app, world, login, endpoint, role):
    view, template, client = situation(app, world, login, endpoint, role, "create")
    # the values a person would type: those of a valid record (read from its edit
    # form, as the panel shows them), on the create form's own fields
    edit_page = client.get(f"/admin/{endpoint}/edit/?id={template.id}")
    known = (
        dict(read_form(edit_page.get_data(as_text=True)).fields)
        if edit_page.status_code == 200
        else {}
    )
    create_page = client.get(f"/admin/{endpoint}/new/")
    assert create_page.status_code == 200
    blank = read_form(create_page.get_data(as_text=True))
    fields = [(name, known.get(name, value)) for name, value in blank.fields]
    fields = fill_create_only_fields(template, fields)
    count_before = db.session.scalar(select(db.func.count()).select_from(view.model))
    response = client.post(f"/admin/{endpoint}/new/", data=MultiDict(made_new(view.model, fields)))
    body = response.get_data(as_text=True)
    assert response.status_code == 302, errors_on(body) or body[:2000]
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count()).select_from(view.model)) == count_before + 1


def fill_create_only_fields(template, fields):
    """Fields only the create form has: the record it belongs to (a visit's
    household, chosen once), a new user's initial password."""
    out = []
    for name, value in fields:
        related = getattr(template, name, None) if not value else None
        if isinstance(related, db.Model):
            value = str(related.id)
        elif isinstance(template, User) and "password" in name and not value:
            value = "Yaohai-Start-2026!"
        out.append((name, value))
    return out
