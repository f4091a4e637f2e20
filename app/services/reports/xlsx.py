"""The monthly report as an Excel workbook: one sheet per section, Chinese headers,
numbers as numbers (amounts with two decimals), "<5" as text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from app.services.reports.content import ReportContent

#: characters Excel refuses in a sheet name
_FORBIDDEN = str.maketrans({ch: " " for ch in "[]:*?/\\"})


def sheet_name(title: str, taken: set[str]) -> str:
    name = title.translate(_FORBIDDEN).strip()[:31] or "Sheet"
    base, n = name, 2
    while name in taken:
        suffix = f" {n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def _cell_value(value):
    """Numbers stay numbers (Decimal → float with two decimals); text stays text.
    Text that Excel would run as a formula is never written: ours never starts so."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def write_xlsx(content: ReportContent, path: Path) -> None:
    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    for section in content.sections:
        sheet = book.create_sheet(sheet_name(section.title, taken))
        sheet.append([content.title])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append([section.title])
        row_number = 3
        widths: dict[int, int] = {}
        for table in section.tables:
            sheet.append([])
            row_number += 1
            sheet.append(table.headers)
            for col in range(1, len(table.headers) + 1):
                sheet.cell(row=row_number, column=col).font = bold
                sheet.cell(row=row_number, column=col).alignment = Alignment(wrap_text=True)
            row_number += 1
            for row in table.rows:
                sheet.append([_cell_value(v) for v in row])
                for i, value in enumerate(row):
                    cell = sheet.cell(row=row_number, column=i + 1)
                    if i in table.money_columns and isinstance(value, (Decimal, int, float)):
                        cell.number_format = "#,##0.00"
                    if isinstance(value, str) and value.startswith("<"):
                        cell.alignment = Alignment(horizontal="right")
                row_number += 1
            for i, header in enumerate(table.headers):
                longest = max(
                    [len(str(header))] + [len(str(r[i])) for r in table.rows if i < len(r)]
                )
                widths[i] = max(widths.get(i, 8), min(40, longest * 2 + 2))
        if section.note:
            sheet.append([])
            sheet.append([section.note])
        for i, width in widths.items():
            sheet.column_dimensions[get_column_letter(i + 1)].width = width
    book.save(path)
