"""月度报表: ask for a month's report of the district or a street, follow its
progress, and download the kept XLSX and PDF (``app/services/reports``)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from flask import abort, flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from app import access
from app.access import Permission
from app.admin.base import GatedBaseView
from app.admin.gate import Row, requires
from app.extensions import db
from app.models import Area, Report
from app.services import reports
from app.validation import InvalidValue, parse_id

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class ReportView(GatedBaseView):
    """The reports kept for the user's area, newest month first, and the form to ask
    for one. A district user picks the district or a street; a clerk gets their own."""

    @expose("/")
    @requires(Permission.READ, model=Report)
    def index(self):
        rows = reports.visible_reports(current_user)
        scope = access.scope_of(current_user, narrowed=False)
        streets = access.street_choices(current_user) if scope.is_district_wide else []
        own_street = db.session.get(Area, scope.street_id) if scope.street_id else None
        return self.render(
            "reports/index.html",
            reports=rows,
            streets=streets,
            own_street=own_street,
            default_month=f"{reports.previous_month(dt.date.today()):%Y-%m}",
            may_request=access.can(current_user, Permission.REQUEST_REPORT),
            is_busy=any(not r.is_finished for r in rows),
            requester_name=reports.requester_name,
        )

    @expose("/request/", methods=("POST",))
    @requires(Permission.REQUEST_REPORT)
    def request_view(self):
        street = None
        raw = request.form.get("street_id", "")
        if raw:
            pk = parse_id(raw)
            street = db.session.get(Area, pk) if pk is not None else None
            if street is None or street.level != "street":
                abort(404)
        try:
            month = reports.parse_month(request.form.get("month"))
            report = reports.request_report(user=current_user, month=month, street=street)
        except InvalidValue as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index"))
        reports.start_report(report)
        db.session.refresh(report)
        if report.status == "done":
            flash(_("The report for %(month)s is ready.", month=f"{report.month:%Y-%m}"), "success")
        elif report.status == "failed":
            flash(_("The report could not be made (%(why)s).", why=report.message or ""), "error")
        else:
            flash(_("The report is being made; this page shows its progress."))
        return redirect(url_for(".index"))

    @expose("/download/")
    @requires(Permission.READ, Row(Report), model=Report)
    def download(self):
        report = self.row()
        kind = request.args.get("kind", "xlsx")
        if kind not in reports.KINDS:
            abort(404)
        path = reports.report_file(report, kind)
        if path is None:
            abort(404)
        name = reports.download_name(report, kind)
        response = send_file(path, mimetype=MIMETYPES[kind], max_age=0)
        ascii_name = f"report-{report.month:%Y-%m}-{report.id}.{kind}"
        response.headers["Content-Disposition"] = (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
        )
        response.headers["Cache-Control"] = "private, no-store"
        return response
