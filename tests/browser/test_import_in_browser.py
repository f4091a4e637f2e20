"""In a real browser: the street clerk of 城东街道 downloads the household template,
fills it with five households of which two are bad (a wrong check digit, a phone
number too short), uploads it and sees both named by row, column and reason, commits
nothing, fixes the two rows (the fixed workbook is built here), uploads again, imports
all rows and finds the five households in the household list.

Screenshots at desk (1366×900) and phone (390×844) size go to test-artifacts/
(import-*.png) for a human to look at.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.browser.screens import BODY_OVERFLOW, DESK, PHONE, RECORD_VIOLATIONS

pytestmark = pytest.mark.browser

CHECK_DIGIT = "该身份证号的校验位不正确，请核对。"
PHONE_REASON = "请输入11位手机号码，或固定电话（如0551-12345678）。"


def _id_number(rng: random.Random) -> str:
    """A valid ID number of 南京玄武区 (no demo household is from there)."""
    from app.validation import id_check_digit

    first17 = f"320102{rng.randint(1940, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 += f"{rng.randint(0, 999):03d}"
    return first17 + id_check_digit(first17)


def _context(chromium_browser, live_server, viewport, **extra):
    context = chromium_browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport=viewport, accept_downloads=True, **extra
    )
    context.set_default_timeout(20_000)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"script error: {e}"))
    page.on(
        "console",
        lambda m: (
            errors.append(f"console: {m.text}")
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    page.problems = lambda: errors + page.evaluate("window.__violations || []")
    return context, page


def _log_in(page, username: str) -> None:
    from app.demo import DEMO_PASSWORD

    page.goto("/login")
    form = page.locator("form#login-form")
    form.locator('input[name="username"]').fill(username)
    form.locator('input[name="password"]').fill(DEMO_PASSWORD)
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()


def _households_named(live_server, names) -> int:
    from app.extensions import db
    from app.models import Household

    with live_server.app.app_context():
        try:
            return db.session.scalar(
                select(func.count(Household.id)).where(Household.head_name.in_(names))
            )
        finally:
            db.session.remove()


def _fill(template: bytes, rows: list[dict]) -> bytes:
    """The downloaded template with ``rows`` under its example row, by header name."""
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook["困难家庭"]
    header = [cell.value for cell in sheet[1]]
    # the template's formats and drop-downs reach far down: write from row 3 on
    for number, values in enumerate(rows, start=3):
        for column, name in enumerate(header, start=1):
            sheet.cell(number, column, values.get(name))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _drop_down(template: bytes, header_name: str) -> list[str]:
    """The choices of the drop-down under ``header_name`` (a list on the hidden 选项
    sheet, as Excel shows them)."""
    workbook = load_workbook(io.BytesIO(template))
    sheet = workbook["困难家庭"]
    letter = next(c.column_letter for c in sheet[1] if c.value == header_name)
    for validation in sheet.data_validations.dataValidation:
        if any(r.min_col == sheet[f"{letter}1"].column for r in validation.sqref.ranges):
            _sheet, cells = validation.formula1.split("!")
            first, last = cells.replace("$", "").split(":")
            return [c.value for (c,) in workbook["选项"][f"{first}:{last}"] if c.value]
    return []


def _error_rows(page) -> list[tuple[int, str, str]]:
    found = []
    for tr in page.locator("#import-errors tbody tr, #import-errors tr[data-row]").all():
        cells = tr.locator("td").all_inner_texts()
        if len(cells) == 3:
            found.append((int(cells[0]), cells[1].strip(), cells[2].strip()))
    return sorted(set(found))


def _upload(page, path: Path) -> None:
    page.goto("/admin/import/")
    page.locator("#import-file").set_input_files(str(path))
    with page.expect_navigation():
        page.locator("#import-submit").click()
    # the dry run is a job: the page polls its progress and reloads when it is done
    page.wait_for_selector("#import-totals", timeout=60_000)


def _shots(page, chromium_browser, live_server, artifacts_dir, name: str) -> None:
    """The current page at desk size, and the same page on a phone."""
    page.screenshot(path=artifacts_dir / f"import-{name}-desk.png", full_page=True)
    context, phone = _context(
        chromium_browser,
        live_server,
        PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        _log_in(phone, "chengdong")
        phone.goto(page.url)
        assert phone.evaluate(BODY_OVERFLOW) <= 0, f"{name}: the page is wider than the phone"
        phone.screenshot(path=artifacts_dir / f"import-{name}-phone.png", full_page=True)
        assert phone.problems() == []
    finally:
        context.close()


def test_a_clerk_fixes_two_bad_rows_and_imports_the_households(
    chromium_browser, live_server, artifacts_dir, tmp_path
):
    rng = random.Random()
    context, page = _context(chromium_browser, live_server, DESK)
    try:
        _log_in(page, "chengdong")
        page.goto("/admin/")
        with page.expect_navigation():
            page.locator('a[href="/admin/import/"]').first.click()
        with page.expect_download() as download:
            page.locator("#template-households").click()
        template = Path(download.value.path()).read_bytes()
        assert download.value.suggested_filename == "困难家庭导入模板.xlsx"
        communities = _drop_down(template, "社区")
        assert communities, "the template offers the clerk's communities"

        tag = f"{rng.randint(1000, 9999)}"
        names = [f"导入测试{tag}-{i}" for i in range(5)]
        rows = [
            {
                "户主": name,
                "身份证号": _id_number(rng),
                "联系电话": f"139{rng.randint(10_000_000, 99_999_999)}",
                "社区": communities[i % len(communities)],
                "地址": f"和平路{i + 1}号",
                "来源渠道": "社区发掘",
                "月收入（元）": 1200 + i,
            }
            for i, name in enumerate(names)
        ]
        good_number = rows[1]["身份证号"]
        rows[1]["身份证号"] = good_number[:17] + ("0" if good_number[17] != "0" else "1")
        good_phone = rows[3]["联系电话"]
        rows[3]["联系电话"] = "1391234"
        bad = tmp_path / "困难家庭名单.xlsx"
        bad.write_bytes(_fill(template, rows))

        _upload(page, bad)
        assert page.locator("#import-status").get_attribute("data-status") == "checked"
        # header row 1, the template's example row 2: our rows are 3-7
        assert _error_rows(page) == [(4, "身份证号", CHECK_DIGIT), (6, "联系电话", PHONE_REASON)]
        assert page.locator('#import-totals td[data-class="new"]').inner_text() == "3"
        assert page.locator('#import-totals td[data-class="error"]').inner_text() == "2"
        assert page.locator("#commit-all").count() == 0
        assert page.locator("#commit-valid").count() == 1
        assert page.locator("#import-error-workbook").count() == 1
        assert page.problems() == []
        _shots(page, chromium_browser, live_server, artifacts_dir, "errors")
        assert _households_named(live_server, names) == 0

        rows[1]["身份证号"] = good_number
        rows[3]["联系电话"] = good_phone
        fixed = tmp_path / "困难家庭名单（已改）.xlsx"
        fixed.write_bytes(_fill(template, rows))
        _upload(page, fixed)
        assert _error_rows(page) == []
        assert page.locator('#import-totals td[data-class="new"]').inner_text() == "5"
        with page.expect_navigation():
            page.locator("#commit-all").click()
        page.wait_for_selector("#import-done", timeout=60_000)
        assert page.locator("#import-status").get_attribute("data-status") == "committed"
        assert page.problems() == []
        _shots(page, chromium_browser, live_server, artifacts_dir, "done")
        assert _households_named(live_server, names) == 5

        with page.expect_navigation():
            page.locator("#import-done a").click()
        page.goto(f"/admin/household/?search=导入测试{tag}")
        listed = page.locator("table.model-list tbody").inner_text()
        for name in names:
            assert name in listed
        page.screenshot(path=artifacts_dir / "import-list-desk.png", full_page=True)
        assert page.problems() == []
    finally:
        context.close()
