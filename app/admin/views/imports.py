"""导入: Excel workbooks of households (with members) and resources.

Upload → the dry run (a background job; the page shows its progress and can be left)
→ the result with totals and every bad cell → commit all rows, or the valid rows only
→ the list of past imports. The rules are in ``app/services/imports/``; this view
holds the pages and calls the service."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user

from app import access
from app.access import Permission
from app.admin.base import GatedBaseView
from app.admin.gate import Row, requires
from app.extensions import db
from app.models import Area, ImportBatch
from app.models.choices import label
from app.models.imports import IMPORT_KINDS, IMPORT_STATUSES, ROW_CLASSES
from app.services import imports
from app.services.imports import workbooks
from app.services.imports.reading import FileRefused
from app.validation import InvalidValue, parse_id

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: error rows shown on the page (the error workbook has them all)
SHOWN_ERRORS = 500


def _attachment(filename: str) -> str:
    ascii_name = filename.encode("ascii", "ignore").decode() or "import.xlsx"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


class ImportView(GatedBaseView):
    """Imports of the user's area: upload, dry run, commit, history."""

    @expose("/")
    @requires(Permission.IMPORT_RECORDS)
    def index(self):
        batches = db.session.scalars(imports.visible_batches(current_user).limit(100)).all()
        return self.render(
            "imports/index.html",
            batches=batches,
            kinds=IMPORT_KINDS,
            communities=list(access.areas_within("community", current_user)),
            status_label=lambda s: label(IMPORT_STATUSES, s),
            kind_label=lambda k: label(IMPORT_KINDS, k),
            max_mb=current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024),
        )

    @expose("/files/template/")
    @requires(Permission.IMPORT_RECORDS)
    def template(self):
        kind = request.args.get("kind", "households")
        if kind not in dict(IMPORT_KINDS):
            abort(404)
        data = workbooks.build_template(kind, current_user)
        return Response(
            data,
            mimetype=XLSX,
            headers={"Content-Disposition": _attachment(workbooks.template_name(kind))},
        )

    @expose("/upload/", methods=("POST",))
    @requires(Permission.IMPORT_RECORDS)
    def upload(self):
        upload = request.files.get("file")
        kind = request.form.get("kind", "households")
        community = None
        raw = request.form.get("community_id", "")
        if raw:
            pk = parse_id(raw)
            community = db.session.get(Area, pk) if pk is not None else None
            if community is None or community.level != "community":
                abort(404)
        if upload is None or not upload.filename:
            flash(_("Choose a file to upload."), "error")
            return redirect(url_for(".index"))
        data = upload.read(current_app.config["IMPORT_MAX_BYTES"] + 1)
        try:
            batch = imports.start_import(
                user=current_user,
                kind=kind,
                file_name=upload.filename,
                data=data,
                default_community=community,
            )
        except (FileRefused, InvalidValue) as exc:
            flash(_("The file was refused: %(reason)s", reason=str(exc)), "error")
            return redirect(url_for(".index"))
        return redirect(url_for(".batch_view", id=batch.id))

    @expose("/batch/")
    @requires(Permission.IMPORT_RECORDS, Row(ImportBatch))
    def batch_view(self):
        batch = self.row()
        errors = batch.errors or []
        return self.render(
            "imports/batch.html",
            batch=batch,
            errors=errors[:SHOWN_ERRORS],
            more_errors=max(0, len(errors) - SHOWN_ERRORS),
            notes=(batch.notes or [])[:SHOWN_ERRORS],
            classes=ROW_CLASSES,
            status_label=label(IMPORT_STATUSES, batch.status),
            kind_label=label(IMPORT_KINDS, batch.kind),
            may_commit=access.can_write_row(batch, current_user),
            household_url=lambda hid: url_for("household.details_view", id=hid),
        )

    @expose("/progress/")
    @requires(Permission.IMPORT_RECORDS, Row(ImportBatch))
    def progress(self):
        batch = self.row()
        return jsonify(
            status=batch.status,
            status_label=label(IMPORT_STATUSES, batch.status),
            rows_done=batch.rows_done,
            rows_total=batch.rows_total,
            percent=batch.percent_done,
            running=batch.is_running,
        )

    @expose("/commit/", methods=("POST",))
    @requires(Permission.IMPORT_RECORDS, Row(ImportBatch, write=True))
    def commit(self):
        batch = self.row()
        try:
            batch = imports.request_commit(
                batch, user=current_user, mode=request.form.get("mode", "")
            )
        except InvalidValue as exc:
            flash(str(exc), "error")
        else:
            # once committed, the batch page itself says so (who, when, the counts): no
            # flash repeating it above
            if batch.status != "committed" and batch.message:
                flash(batch.message, "error")
        return redirect(url_for(".batch_view", id=batch.id))

    @expose("/files/errors/")
    @requires(Permission.IMPORT_RECORDS, Row(ImportBatch))
    def errors_workbook(self):
        batch = self.row()
        if batch.status not in ("checked", "committed") or not batch.errors:
            abort(404)
        sheet = imports.read_batch_rows(batch)
        try:
            data = workbooks.error_workbook(batch, sheet)
        finally:
            if sheet.close is not None:
                sheet.close()
        stem = batch.file_name.rsplit(".", 1)[0]
        return Response(
            data,
            mimetype=XLSX,
            headers={"Content-Disposition": _attachment(f"{stem}_错误标注.xlsx")},
        )
