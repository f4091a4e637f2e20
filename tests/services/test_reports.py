"""Monthly reports: who may ask for which, the job (inline and on Redis), the XLSX's
sheets and values, the PDF's text and pages, and the "<5" rule."""

import datetime as dt
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from app import jobs
from app.extensions import db
from app.models import Report
from app.services import reports
from app.services.reports.content import SMALL, ratio, small
from app.validation import InvalidValue
from tests.factories import DASHBOARD_MONTH, make_dashboard_district, make_household
from tests.test_jobs import REDIS_TEST_URL, _redis_reachable

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
needs_font = pytest.mark.skipif(not FONT.is_file(), reason=f"no Chinese font at {FONT}")


@pytest.fixture
def district(world):
    return make_dashboard_district(world)


def _made(report) -> Report:
    db.session.expire_all()
    return db.session.get(Report, report.id)


def _sheet_values(path) -> dict[str, list[list]]:
    book = load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}


def _find_row(rows, first):
    return next(r for r in rows if r and r[0] == first)


def test_small_counts_and_rates():
    assert [small(n) for n in (0, 1, 4, 5, 12)] == [0, SMALL, SMALL, 5, 12]
    assert ratio(None, 10) is None and ratio(3.0, 0) is None
    assert ratio(7.25, 4) == SMALL
    assert ratio(7.25, 5) == 7.2 or ratio(7.25, 5) == 7.3


def test_who_may_ask_for_which_report(world):
    month = DASHBOARD_MONTH
    assert reports.request_report(user=world.manager, month=month).street_id is None
    report = reports.request_report(user=world.manager, month=month, street=world.far_street)
    assert report.street_id == world.far_street.id
    # a clerk: their own street, also when they name none
    assert reports.request_report(user=world.clerk, month=month).street_id == world.street.id
    with pytest.raises(InvalidValue):
        reports.request_report(user=world.clerk, month=month, street=world.far_street)
    for user in (world.worker, world.sponsor):
        with pytest.raises(InvalidValue):
            reports.request_report(user=user, month=month)
    with pytest.raises(InvalidValue):
        reports.request_report(user=world.manager, month=dt.date.today() + dt.timedelta(days=40))
    with pytest.raises(InvalidValue):
        reports.request_report(user=world.manager, month=month, street=world.community)


def test_who_reads_which_report(world):
    from app import access

    district = reports.request_report(user=world.manager, month=DASHBOARD_MONTH)
    near = reports.request_report(user=world.clerk, month=DASHBOARD_MONTH)
    far = reports.request_report(user=world.far_clerk, month=DASHBOARD_MONTH)
    assert {r.id for r in reports.visible_reports(world.manager)} == {district.id, near.id, far.id}
    assert [r.id for r in reports.visible_reports(world.clerk)] == [near.id]
    for user in (world.worker, world.sponsor):
        assert not access.may_read(Report, user)
        assert reports.visible_reports(user) == []


def test_parse_month():
    assert reports.parse_month("2026-11") == dt.date(2026, 11, 1)
    for bad in ("2026-13", "11/2026", "", None, "2026"):
        with pytest.raises(InvalidValue):
            reports.parse_month(bad)
    assert reports.previous_month(dt.date(2027, 1, 3)) == dt.date(2026, 12, 1)


@needs_font
def test_the_inline_job_makes_the_xlsx_with_numbers_and_small_counts(world, district):
    report = reports.request_report(user=world.manager, month=DASHBOARD_MONTH)
    reports.start_report(report)
    report = _made(report)
    assert (report.status, report.progress, report.job_id) == ("done", 100, None)
    assert report.started_at and report.finished_at and report.message is None
    sheets = _sheet_values(reports.report_file(report, "xlsx"))
    assert list(sheets) == [
        "概况",
        "街道对比",
        "困难家庭",
        "新增个案",
        "及时性",
        "需求清单",
        "项目与覆盖",
        "专项基金",
        "本月工作",
        "异常监测",
    ]
    compared = sheets["街道对比"]
    header = next(r for r in compared if r and r[0] == "街道")
    assert header[1] == "困难家庭"
    near = _find_row(compared, world.street.name)
    assert near[1] == 5  # five households: a number, not text
    assert near[4] == SMALL  # four new cases
    assert _find_row(compared, world.far_street.name)[1] == SMALL  # one household
    assert _find_row(compared, world.far_street.name)[12] == 300.0  # money stays money
    fund = sheets["专项基金"]
    assert _find_row(fund, "2026-11")[1:3] == [2000.0, 300.0]
    assert _find_row(fund, "余额")[1] == 11700.0
    summary = sheets["概况"]
    assert _find_row(summary, "月份")[1] == "2026-11"
    assert _find_row(summary, "本月新增个案")[1] == 5
    # medians of fewer than five cases are left out
    timeliness = sheets["及时性"]
    assert _find_row(timeliness, world.street.name)[1:] == [SMALL] * 4
    for values in sheets.values():
        text = repr(values)
        assert district["h1"].head_name not in text
        assert district["h2"].head_id_number not in text


@needs_font
def test_the_pdf_has_the_figures_in_chinese(world, district):
    report = reports.request_report(user=world.manager, month=DASHBOARD_MONTH, street=world.street)
    reports.start_report(report)
    report = _made(report)
    assert report.status == "done", report.message
    path = reports.report_file(report, "pdf")
    pdf = PdfReader(path)
    assert 2 <= len(pdf.pages) <= 12
    assert pdf.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4
    text = "".join(page.extract_text() for page in pdf.pages)
    for expected in ("月度报表 2026-11", world.street.name, "社区对比", "专项基金", "<5"):
        assert expected in text, expected
    assert world.far_street.name not in text
    fonts = {
        str(font.get("/BaseFont"))
        for page in pdf.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
        for font in [font.get_object()]
    }
    assert any("Yijia" in f or "WenQuanYi" in f or "+" in f for f in fonts), fonts
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True)
        assert "专项基金" in out.stdout


def test_a_failed_report_says_so_with_a_reference(app, world, district):
    app.config["REPORT_PDF_FONT"] = "/nonexistent/font.ttc"
    report = reports.request_report(user=world.manager, month=DASHBOARD_MONTH)
    reports.start_report(report)
    report = _made(report)
    assert report.status == "failed"
    assert report.message.startswith("FontMissing: ")
    assert reports.report_file(report, "xlsx") is None  # a failed report offers nothing


@needs_font
@pytest.mark.skipif(not _redis_reachable(), reason=f"no Redis at {REDIS_TEST_URL}")
def test_on_redis_the_report_waits_for_the_worker(app, world, district):
    queue_name = f"yijia-test-{uuid.uuid4().hex[:8]}"
    app.config.update(JOBS_INLINE=False, REDIS_URL=REDIS_TEST_URL, JOBS_QUEUE=queue_name)
    queue = jobs.queue()
    try:
        report = reports.request_report(user=world.manager, month=DASHBOARD_MONTH)
        reports.start_report(report)
        report = _made(report)
        assert report.status == "queued" and report.job_id in queue.job_ids
        assert jobs.worker_for(app, simple=True).work(burst=True)
        report = _made(report)
        assert report.status == "done", report.message
        assert reports.report_file(report, "pdf") is not None
    finally:
        queue.delete(delete_jobs=True)


@needs_font
def test_the_cli_makes_last_months_reports(app, world, district):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["monthly-report", "--month", "2026-11", "--all-streets"])
    assert result.exit_code == 0, result.output
    assert result.output.count(": done") == 3  # the district and its two streets
    result = runner.invoke(args=["monthly-report", "--street", "无此街道"])
    assert result.exit_code != 0 and "无此街道" in result.output
    result = runner.invoke(args=["monthly-report", "--month", "11/2026"])
    assert result.exit_code != 0


@needs_font
def test_a_report_counts_the_month_only(world, district):
    make_household(world.far_community, intake_date=dt.date(2026, 10, 20))
    db.session.commit()
    report = reports.request_report(user=world.manager, month=DASHBOARD_MONTH)
    reports.start_report(report)
    summary = _sheet_values(reports.report_file(_made(report), "xlsx"))["概况"]
    assert _find_row(summary, "本月新增个案")[1] == 5  # October's is not November's
