"""Pledges (认领): the staff list with approve / reject / received, and the sponsor's
own pages ("my pledges", "our support"). Every change goes through
``app/services/sponsorship.py``; these views hold configuration and call it."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, has_request_context, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual, IntEqualFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import access
from app.access import Permission
from app.admin import formatters as fmt
from app.admin.base import GatedBaseView, ScopedModelView
from app.admin.filters import area_filters
from app.admin.gate import Row, requires
from app.extensions import db
from app.models import Organisation, Pledge, Project, StoredFile
from app.models import choices as c
from app.services import sponsorship
from app.validation import InvalidValue

PLEDGE_LABELS = {
    "project": _l("Project"),
    "organisation": _l("Sponsor"),
    "amount_yuan": _l("Amount (yuan)"),
    "in_kind_description": _l("In-kind support"),
    "sponsor_note": _l("Sponsor's note"),
    "pledged_at": _l("Pledged at"),
    "decided_at": _l("Decided at"),
    "decided_by": _l("Decided by"),
    "decision_note": _l("Note from the street office"),
    "received_on": _l("Received on"),
}


def _pledging_organisations():
    """Organisations with a pledge the user may see (built per request)."""
    if not has_request_context() or not current_user.is_authenticated:
        return []
    ids = access.visible(Pledge, current_user, select(Pledge.organisation_id))
    stmt = select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)
    return [(str(o.id), o.name) for o in db.session.scalars(stmt)]


TIME_FORMATTERS = {"pledged_at": fmt.minute, "decided_at": fmt.minute}


def _form_id() -> str:
    return request.form.get("id", "")


class PledgeView(ScopedModelView):
    """Staff: every pledge in their area; clerks of the project's street (and the
    district administrator) approve or reject them here. Amounts and statuses are
    never edited by hand."""

    view_permission = Permission.SEE_STAFF_PROJECTS
    allow_create = allow_edit = allow_delete = False
    choices = {"status": c.PLEDGE_STATUSES, "kind": c.PLEDGE_KINDS}
    money_columns = ("amount_yuan",)
    column_labels = PLEDGE_LABELS
    column_formatters = TIME_FORMATTERS
    column_list = (
        "id",
        "project",
        "organisation",
        "kind",
        "amount_yuan",
        "status",
        "pledged_at",
        "decided_at",
        "received_on",
        "street",
        "community",
    )
    column_details_list = (
        "id",
        "project",
        "organisation",
        "kind",
        "amount_yuan",
        "in_kind_description",
        "sponsor_note",
        "status",
        "pledged_at",
        "created_by",
        "decided_at",
        "decided_by",
        "decision_note",
        "received_on",
        "street",
        "community",
    )
    column_export_list = column_details_list
    column_default_sort = ("pledged_at", True)
    column_sortable_list = ("id", "amount_yuan", "status", "pledged_at", "decided_at")
    details_template = "admin/pledge_details.html"

    @property
    def column_filters(self):
        return [
            FilterEqual(Pledge.status, _l("Status"), options=c.PLEDGE_STATUSES),
            FilterEqual(Pledge.kind, _l("Kind"), options=c.PLEDGE_KINDS),
            IntEqualFilter(Pledge.organisation_id, _l("Sponsor"), options=_pledging_organisations),
        ] + area_filters(Pledge)

    def eager(self, query):
        return query.options(
            selectinload(Pledge.project),
            selectinload(Pledge.organisation),
            selectinload(Pledge.street),
            selectinload(Pledge.community),
            selectinload(Pledge.decided_by),
            selectinload(Pledge.created_by),
        )

    def household_of(self, model):
        return None

    def can_decide(self, pledge: Pledge) -> bool:
        return pledge.status == "pending" and access.can_write_row(pledge, current_user)

    def can_mark_received(self, pledge: Pledge) -> bool:
        return (
            pledge.kind == "in_kind"
            and pledge.status == "approved"
            and pledge.received_on is None
            and access.can_write_row(pledge, current_user)
        )

    @expose("/decide/", methods=("POST",))
    @requires(Permission.DECIDE_PLEDGE, Row(write=True))
    def decide(self):
        pledge = self.row()
        decision, note = request.form.get("decision"), request.form.get("note")
        try:
            if decision == "approve":
                sponsorship.approve_pledge(pledge, user=current_user, note=note)
                flash(_("The pledge is approved."), "success")
            elif decision == "reject":
                sponsorship.reject_pledge(pledge, user=current_user, note=note)
                flash(_("The pledge is rejected; its amount is open for pledges again."), "success")
            else:
                abort(400)
        except InvalidValue as exc:
            flash(str(exc), "error")
        return redirect(url_for(".details_view", id=pledge.id))

    @expose("/received/", methods=("POST",))
    @requires(Permission.DECIDE_PLEDGE, Row(write=True))
    def received(self):
        pledge = self.row()
        raw = request.form.get("received_on", "")
        try:
            try:
                received_on = dt.date.fromisoformat(raw)
            except ValueError:
                raise InvalidValue(_l("Enter the date the support arrived.")) from None
            sponsorship.mark_received(pledge, user=current_user, received_on=received_on)
            flash(_("The support is marked received."), "success")
        except InvalidValue as exc:
            flash(str(exc), "error")
        return redirect(url_for(".details_view", id=pledge.id))


class SponsorPledgeView(ScopedModelView):
    """A sponsor's own pledges (我的认领) and their status; pending ones can be
    withdrawn. Scoping shows only the user's own organisation's pledges."""

    view_permission = Permission.USE_SPONSOR_PORTAL
    allow_create = allow_edit = allow_delete = allow_export = False
    choices = {"status": c.PLEDGE_STATUSES, "kind": c.PLEDGE_KINDS}
    money_columns = ("amount_yuan",)
    column_labels = PLEDGE_LABELS
    column_formatters = TIME_FORMATTERS
    column_list = (
        "project",
        "kind",
        "amount_yuan",
        "status",
        "pledged_at",
        "decided_at",
        "received_on",
    )
    column_details_list = (
        "project",
        "kind",
        "amount_yuan",
        "in_kind_description",
        "sponsor_note",
        "status",
        "pledged_at",
        "decided_at",
        "decision_note",
        "received_on",
    )
    column_default_sort = ("pledged_at", True)
    column_sortable_list = ("amount_yuan", "status", "pledged_at")
    list_template = "admin/sponsor_pledge_list.html"
    details_template = "admin/sponsor_pledge_details.html"

    @property
    def column_filters(self):
        return [
            FilterEqual(Pledge.status, _l("Status"), options=c.PLEDGE_STATUSES),
            FilterEqual(Pledge.kind, _l("Kind"), options=c.PLEDGE_KINDS),
        ]

    def eager(self, query):
        return query.options(selectinload(Pledge.project))

    def household_of(self, model):
        return None

    @expose("/withdraw/", methods=("POST",))
    @requires(Permission.USE_SPONSOR_PORTAL, Row(Pledge))
    def withdraw(self):
        pledge = self.row()
        try:
            sponsorship.withdraw_pledge(pledge, user=current_user, note=request.form.get("note"))
            flash(_("Your pledge is withdrawn."), "success")
        except InvalidValue as exc:
            flash(str(exc), "error")
        return redirect(url_for(".index_view"))


class SponsorImpactView(GatedBaseView):
    """What the sponsor's support achieved: amounts, reach as counts, progress of
    each supported project and the evidence staff chose to share."""

    @expose("/")
    @requires(Permission.USE_SPONSOR_PORTAL)
    def index(self):
        impact = sponsorship.sponsor_impact(current_user.organisation)
        ids = [p.project.id for p in impact.progress]
        evidence: dict[int, list[StoredFile]] = {}
        if ids:
            stmt = (
                access.visible(StoredFile, current_user)
                .where(StoredFile.project_id.in_(ids))
                .order_by(StoredFile.id.desc())
            )
            for stored in db.session.scalars(stmt):
                evidence.setdefault(stored.project_id, []).append(stored)
        from app.services.dashboard import sponsor_timeline

        timeline = sponsor_timeline(impact, current_user.organisation_id)
        chart = {
            "categories": [month for month, *_amounts in timeline],
            "series": [
                {"name": name, "data": [float(row[i]) for row in timeline]}
                for i, name in ((1, _("Pledged")), (2, _("Received")), (3, _("Spent for us")))
            ],
        }
        return self.render(
            "admin/sponsor_impact.html",
            impact=impact,
            evidence=evidence,
            status_label=lambda s: c.label(c.PROJECT_STATUSES, s),
            timeline=timeline,
            charts={"sponsor": chart},
        )


def sponsor_details_context(project: Project) -> dict:
    """What the sponsor's project page shows beside the record: their own pledges on
    it, whether they may pledge, and shared evidence when they support it."""
    org_id = current_user.organisation_id
    own = db.session.scalars(
        access.visible(Pledge, current_user)
        .where(Pledge.project_id == project.id)
        .order_by(Pledge.pledged_at.desc())
    ).all()
    can_pledge = bool(
        db.session.scalar(
            select(Project.id).where(Project.id == project.id, access.open_to_sponsors())
        )
    )
    evidence = db.session.scalars(
        access.visible(StoredFile, current_user)
        .where(StoredFile.project_id == project.id)
        .order_by(StoredFile.id.desc())
    ).all()
    supported = set(db.session.scalars(access.sponsored_project_ids(access.scope_of(current_user))))
    return {
        "own_pledges": own,
        "can_pledge": can_pledge and org_id is not None,
        "evidence": evidence,
        "is_supported": project.id in supported,
    }
