"""The workbooks an import hands out: the template (导入模板.xlsx) and the uploaded
file back with its bad cells highlighted and a reason column.

The template has the data sheet (Chinese headers, one example row, ID-number columns
formatted as text so that Excel keeps all 18 characters, dates and amounts
formatted), a 填写说明 sheet explaining each column, and drop-downs (data validation)
fed from a hidden 选项 sheet: communities of the user's area, hardship categories,
intake channels, relations, kinds ...
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from app import access
from app.extensions import db
from app.models import HardshipCategory, Organisation
from app.services.imports.columns import COLUMNS
from app.services.imports.households import EXAMPLE_ID_NUMBER

BAD = PatternFill("solid", fgColor="FFC7CE")
HEADER = PatternFill("solid", fgColor="DDEBF7")
SHEET_TITLES = {"households": "困难家庭", "resources": "资源清单"}


def template_name(kind: str) -> str:
    return {"households": "困难家庭导入模板.xlsx", "resources": "资源清单导入模板.xlsx"}[kind]


def _example(kind: str, user) -> dict:
    communities = list(access.areas_within("community", user))
    community = communities[0] if communities else None
    if kind == "households":
        return {
            "head_name": "张示例",
            "head_id_number": EXAMPLE_ID_NUMBER,
            "head_phone": "13800000000",
            "street": community.parent.name if community else "",
            "community": community.name if community else "",
            "intake_channel": _("Found by the community"),
            "intake_date": "2024-03-01",
            "address": "示例路1号",
            "monthly_income": 1500,
            "member_name": "李示例",
            "member_relation": _("Spouse"),
        }
    return {
        "name": "助餐服务（示例）",
        "kind": _("Service"),
        "provider_name": "示例邻居",
        "quantity": 30,
        "unit": "份",
        "value_yuan": 450,
        "available_from": "2024-03-01",
        "street": community.parent.name if community else "",
    }


def _options(kind: str, user) -> dict[str, list[str]]:
    communities = [a.name for a in access.areas_within("community", user)]
    streets = sorted({a.parent.name for a in access.areas_within("community", user)})
    options = {"community": communities, "street": streets}
    if kind == "households":
        options["categories"] = list(
            db.session.scalars(
                select(HardshipCategory.name)
                .where(HardshipCategory.is_active.is_(True))
                .order_by(HardshipCategory.sort_order, HardshipCategory.name)
            )
        )
        options["referrer_organisation"] = [
            o.name for o in access.readable(Organisation, user).order_by(Organisation.name)
        ][:500]
    else:
        options["provider_name"] = [
            o.name for o in access.readable(Organisation, user).order_by(Organisation.name)
        ][:500]
    for column in COLUMNS[kind]:
        if column.choices:
            labels = []
            for value, text in column.choices:
                if str(text) not in labels and not (
                    isinstance(value, int) and str(text) == str(value)
                ):
                    labels.append(str(text))
            options[column.key] = labels
    return options


def build_template(kind: str, user) -> bytes:
    """导入模板.xlsx for ``kind``, with the user's own communities in its drop-downs."""
    columns = [c for c in COLUMNS[kind] if c.in_template]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLES[kind]
    help_sheet = workbook.create_sheet("填写说明")
    lists = workbook.create_sheet("选项")
    lists.sheet_state = "hidden"
    example = _example(kind, user)
    options = _options(kind, user)
    list_index = 0
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        cell = sheet.cell(row=1, column=i, value=str(column.label))
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cell.fill = HEADER
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[letter].width = column.width
        value = example.get(column.key)
        sample = sheet.cell(row=2, column=i, value=value)
        fmt = {"id": "@", "phone": "@", "date": "yyyy-mm-dd", "money": "0.00"}.get(column.kind)
        if fmt:
            for row in range(2, 1002):
                sheet.cell(row=row, column=i).number_format = fmt
        if column.kind == "date" and isinstance(value, str):
            sample.value = dt.date.fromisoformat(value)
        choices = options.get(column.key)
        if choices:
            list_index += 1
            target = list_index
            list_col = get_column_letter(target)
            for r, text in enumerate(choices, start=1):
                lists.cell(row=r, column=target, value=text)
            validation = DataValidation(
                type="list",
                formula1=f"'选项'!${list_col}$1:${list_col}${max(len(choices), 1)}",
                allow_blank=True,
            )
            if column.kind in ("list", "organisation") or column.key == "provider_name":
                # several categories in one cell, or a name not in the list: allowed
                validation.showErrorMessage = False
            else:
                validation.error = _("Choose a value from the list.")
                validation.errorTitle = str(column.label)
                validation.showErrorMessage = True
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}5000")
        if column.help:
            cell.comment = Comment(str(column.help), "益家")
    sheet.freeze_panes = "A2"
    sheet.row_dimensions[1].height = 32
    # 填写说明
    help_sheet.append([_("Column"), _("Required"), _("How to fill it in")])
    for cell in help_sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER
    for column in columns:
        help_sheet.append(
            [str(column.label), _("Yes") if column.required else "", str(column.help)]
        )
    general = [
        _("One row per record. Row 2 is an example: replace it or delete it (it is skipped)."),
        _(
            "Updating: a row whose ID number (or No.) is already registered in your area "
            "updates that record; an empty cell changes nothing."
        ),
        _("Columns in red are required for a new record."),
        _(
            "Upload the file on the import page: it is checked first (a dry run) and "
            "nothing is saved until you commit."
        ),
    ]
    if kind == "households":
        general.insert(
            1,
            _(
                "Members: one row per member, each with the head's ID number; "
                "the household's columns may stay empty on those rows."
            ),
        )
    help_sheet.append([])
    for line in general:
        help_sheet.append([line])
    help_sheet.column_dimensions["A"].width = 22
    help_sheet.column_dimensions["B"].width = 8
    help_sheet.column_dimensions["C"].width = 90
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def error_workbook(batch, sheet) -> bytes:
    """The uploaded rows again (streamed: a 50,000-row file stays small in memory),
    bad cells filled red with the reason as a comment, and a last column 错误原因."""
    by_row: dict[int, list[dict]] = defaultdict(list)
    for problem in batch.errors or []:
        by_row[problem["row"]].append(problem)
    workbook = Workbook(write_only=True)
    out_sheet = workbook.create_sheet(sheet.title[:31] or "Sheet1")
    reason_label = _("Reasons for errors")
    header = [*sheet.header, reason_label]
    header_cells = []
    for text in header:
        cell = WriteOnlyCell(out_sheet, value=text)
        cell.font = Font(bold=True)
        header_cells.append(cell)
    out_sheet.append(header_cells)
    width = len(sheet.header)
    for number, cells in sheet.rows:
        problems = by_row.get(number, [])
        bad_columns = defaultdict(list)
        for p in problems:
            if p.get("col") is not None:
                bad_columns[p["col"]].append(p["message"])
        row = []
        for i in range(width):
            value = cells[i] if i < len(cells) else ""
            # text, never a formula: an error workbook must not run what a file held
            cell = WriteOnlyCell(out_sheet, value=("'" + value) if value[:1] == "=" else value)
            if i in bad_columns:
                cell.fill = BAD
            row.append(cell)
        reasons = "；".join(
            (f"{p['column']}：" if p.get("column") else "") + p["message"] for p in problems
        )
        reason = WriteOnlyCell(out_sheet, value=reasons or None)
        if reasons:
            reason.fill = BAD
        row.append(reason)
        out_sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
