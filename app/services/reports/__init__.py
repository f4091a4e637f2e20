"""Monthly reports for the bureau (月度报表): asked for, made in the background, kept.

- ``request_report(user=, month=, street=)`` records a ``Report`` (queued) for a month
  and the district or one street, within what the user may see (a clerk: their own
  street), and commits it;
- ``run_report(report_id)`` is the job (``app/jobs.py`` runs it on the queue, or inline
  without Redis): it counts the month's figures (``app/services/dashboard``), writes the
  XLSX and the PDF into ``REPORT_FOLDER`` under generated names, and keeps its progress
  and outcome in the row as it goes, so a page shows them whichever process ran it;
- ``report_file(report, kind)`` is the path of a finished report's file, for downloads
  (the caller checks scope: ``access.visible(Report, user)``).

Whose figures: a report is the area's, not its requester's view: the district's (all
streets), or one street's, read as district staff narrowed to that street. Who may
ask for which area is checked when it is asked for.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from contextlib import contextmanager
from pathlib import Path

from flask import current_app, has_request_context, session
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import access
from app.access import Permission
from app.errors import new_reference
from app.extensions import db
from app.models import Area, Report, User
from app.models.base import utcnow
from app.services import dashboard
from app.services.transaction import committed
from app.validation import InvalidValue

log = logging.getLogger(__name__)

KINDS = ("xlsx", "pdf")
#: the locale a report is written in: it is for the bureau
REPORT_LOCALE = "zh_Hans_CN"


class NotAllowed(InvalidValue):
    """The user may not ask for this report."""


def parse_month(text: str | None) -> dt.date:
    """``'2026-11'`` → 2026-11-01; anything else is an InvalidValue."""
    try:
        year, month = (int(part) for part in (text or "").strip().split("-"))
        return dt.date(year, month, 1)
    except (TypeError, ValueError):
        raise InvalidValue(_l("Give the month as YYYY-MM, e.g. 2026-11.")) from None


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _check_area(user, street: Area | None) -> Area | None:
    """The street the user may report on (None: the district)."""
    if user is None:  # the CLI (cron): the district's own job
        return street
    if not access.can(user, Permission.REQUEST_REPORT):
        raise NotAllowed(_l("You may not ask for monthly reports."))
    scope = access.scope_of(user, narrowed=False)
    if scope.is_district_wide:
        return street
    if street is None or street.id != scope.street_id:
        if street is None and scope.street_id is not None:
            return db.session.get(Area, scope.street_id)
        raise NotAllowed(_l("You may ask for the report of your own street only."))
    return street


def request_report(*, user, month: dt.date, street: Area | None = None) -> Report:
    """Record a report to make (queued) and commit it; ``run_report`` makes it."""
    if street is not None and street.level != "street":
        raise InvalidValue(_l("A report covers the district or one street."))
    month = month.replace(day=1)
    if month > dt.date.today().replace(day=1):
        raise InvalidValue(_l("A report covers a month that has begun."))
    if month.year < 2000:
        raise InvalidValue(_l("Give the month as YYYY-MM, e.g. 2026-11."))
    with committed():
        street = _check_area(user, street)
        report = Report(
            month=month,
            street_id=street.id if street is not None else None,
            requested_by_id=user.id if user is not None else None,
            status="queued",
            progress=0,
            message=None,
        )
        db.session.add(report)
    return report


def start_report(report: Report) -> None:
    """Put the report's job on the queue (or run it now without Redis)."""
    from app import jobs

    job_id = jobs.enqueue(
        run_report, report.id, description=f"monthly report {report.month:%Y-%m} #{report.id}"
    )
    if job_id is not None:
        with committed():
            db.session.execute(
                Report.__table__.update().where(Report.id == report.id).values(job_id=job_id)
            )


def report_folder() -> Path:
    configured = current_app.config.get("REPORT_FOLDER")
    folder = Path(configured or Path(current_app.config["UPLOAD_FOLDER"]).parent / "reports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def report_file(report: Report, kind: str) -> Path | None:
    """The file of a finished report (None when it has none of that kind)."""
    name = {"xlsx": report.xlsx_name, "pdf": report.pdf_name}.get(kind)
    if report.status != "done" or not name:
        return None
    path = report_folder() / name
    return path if path.is_file() else None


def download_name(report: Report, kind: str) -> str:
    area = report.street.name if report.street is not None else _("Whole district")
    return f"{_('Monthly report')}_{report.month:%Y-%m}_{area}.{kind}"


def _progress(report: Report, percent: int, message: str) -> None:
    report.progress = percent
    report.message = message
    db.session.commit()


def _area_name(report: Report) -> str:
    if report.street is not None:
        return report.street.name
    district = db.session.scalar(select(Area).where(Area.level == "district"))
    return district.name if district is not None else _("Whole district")


def _anomaly_counts(report: Report, today: dt.date) -> dict[str, int]:
    """Open anomalies of the fund's monitoring page, for the report's area."""
    from app.services.fund.reports import MissingMonth, anomalies

    with _switcher_cleared():
        found = anomalies(_DistrictReader(), today)
    counts = {}
    for kind, items in found.items():
        if report.street_id is not None:
            items = [
                i
                for i in items
                if (i.month if isinstance(i, MissingMonth) else i).street_id == report.street_id
            ]
        counts[kind] = len(items)
    return counts


@contextmanager
def _switcher_cleared():
    """A job run inline inside a request must not read through the street switcher of
    whoever asked for it (``access.scope_of`` reads it from the session)."""
    if not has_request_context() or "street_id" not in session:
        yield
        return
    chosen = session.pop("street_id")
    try:
        yield
    finally:
        session["street_id"] = chosen


class _DistrictReader:
    """Who a report job reads as: district staff, unnarrowed (a job has no request and
    no signed-in user). The area is narrowed by the report itself."""

    role = "district_manager"
    is_authenticated = True
    is_active = True
    id = None
    area = None
    area_id = None
    organisation_id = None


def run_report(report_id: int) -> None:
    """The background job: make report ``report_id``'s XLSX and PDF, keeping progress."""
    from app.services.reports.content import build_content
    from app.services.reports.pdf import write_pdf
    from app.services.reports.xlsx import write_xlsx

    report = db.session.get(Report, report_id)
    if report is None or report.status == "done":
        return
    report.status, report.started_at = "running", utcnow()
    _progress(report, 5, "counting")
    try:
        with force_locale(REPORT_LOCALE):
            scope = access.Scope(role="district_manager", street_id=report.street_id)
            today = dt.date.today()
            board = dashboard.build(scope, dashboard.month_period(report.month), today=today)
            anomalies = _anomaly_counts(report, today)
            content = build_content(board, area_name=_area_name(report), anomalies=anomalies)
            _progress(report, 50, "xlsx")
            stem = f"report-{report.id}-{secrets.token_hex(8)}"
            folder = report_folder()
            write_xlsx(content, folder / f"{stem}.xlsx")
            report.xlsx_name = f"{stem}.xlsx"
            _progress(report, 75, "pdf")
            write_pdf(
                content, folder / f"{stem}.pdf", font_path=current_app.config.get("REPORT_PDF_FONT")
            )
            report.pdf_name = f"{stem}.pdf"
        report.status, report.progress, report.message = "done", 100, None
        report.finished_at = utcnow()
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        reference = new_reference()
        log.error("monthly report %s failed (%s)", report_id, reference, exc_info=exc)
        report = db.session.get(Report, report_id)
        report.status, report.finished_at = "failed", utcnow()
        report.message = f"{type(exc).__name__}: {reference}"
        db.session.commit()


def generate_for_cron(
    month: dt.date, street_names: list[str], *, all_streets: bool
) -> list[Report]:
    """``flask monthly-report``: the district's report (or the named streets'), queued
    and started. Unknown street names are an InvalidValue, before anything is made."""
    streets: list[Area | None] = []
    for name in street_names:
        street = db.session.scalar(select(Area).where(Area.level == "street", Area.name == name))
        if street is None:
            raise InvalidValue(_l("No street is called %(name)s.", name=name))
        streets.append(street)
    if all_streets:
        streets = [None] + list(
            db.session.scalars(select(Area).where(Area.level == "street").order_by(Area.name))
        )
    if not streets:
        streets = [None]
    made = []
    for street in streets:
        report = request_report(user=None, month=month, street=street)
        start_report(report)
        made.append(report)
    return made


def visible_reports(user, limit: int = 100) -> list[Report]:
    stmt = access.visible(Report, user).order_by(Report.month.desc(), Report.id.desc())
    return list(db.session.scalars(stmt.limit(limit)))


def requester_name(report: Report) -> str:
    user = report.requested_by
    return user.full_name if isinstance(user, User) else _("scheduled (CLI)")
