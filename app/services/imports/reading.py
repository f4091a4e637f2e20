"""Reading an uploaded workbook: refuse a hostile file before parsing it, then stream
its rows as plain text cells.

What is refused, with a message and nothing written (``FileRefused``):
- not an XLSX workbook nor a CSV text file; an old ``.xls`` or an encrypted workbook
  (both are OLE compound files, ``D0 CF 11 E0``); a macro-enabled ``.xlsm`` (by name,
  by content type or by a ``vbaProject.bin`` inside);
- a zip bomb: too many entries, too many bytes once unpacked, or an entry that
  unpacks to too many times its packed size — all read from the zip's directory
  before a byte is inflated (``zipfile`` then stops each entry at its declared size);
- more rows than ``IMPORT_MAX_ROWS`` (declared by the sheet's dimension, or counted
  while streaming), a cell longer than ``IMPORT_MAX_CELL_CHARS``;
- no sheet whose header names the template's key columns (the wrong sheet, or a
  workbook that is not ours).

Formulas are never evaluated: the workbook is opened with ``data_only=False``, so a
formula cell reads as its text (``=SUM(A1:A3)``) and is checked like anything typed.
XLSX is read with openpyxl in read-only mode (rows stream from the zip, memory stays
flat); CSV is read as UTF-8 (with or without BOM), else as GB18030 (a superset of
the GBK that Excel on Chinese Windows saves).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MACRO_CONTENT_TYPES = ("macroEnabled", "vbaProject")


class FileRefused(Exception):
    """The file is not read at all; ``str(exc)`` says why, in the user's language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class Limits:
    max_rows: int
    max_cell_chars: int
    max_unpacked_bytes: int
    max_ratio: int
    max_entries: int

    @classmethod
    def from_config(cls) -> Limits:
        config = current_app.config
        return cls(
            max_rows=config["IMPORT_MAX_ROWS"],
            max_cell_chars=config["IMPORT_MAX_CELL_CHARS"],
            max_unpacked_bytes=config["IMPORT_MAX_UNPACKED_BYTES"],
            max_ratio=config["IMPORT_MAX_RATIO"],
            max_entries=1000,
        )


def file_kind(file_name: str, data: bytes) -> str:
    """ "xlsx" or "csv", or FileRefused: what the bytes are, checked before parsing."""
    name = (file_name or "").lower()
    if name.endswith((".xlsm", ".xltm", ".xlam")):
        raise FileRefused(_l("Macro-enabled workbooks (.xlsm) are not accepted; save as .xlsx."))
    if data.startswith(OLE_MAGIC):
        raise FileRefused(
            _l(
                "This file is encrypted (password-protected) or an old .xls workbook: "
                "remove the password and save it as .xlsx, then upload it again."
            )
        )
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if name.endswith(".csv") and _looks_like_text(data[:4096]):
        return "csv"
    raise FileRefused(_l("This is not an Excel workbook (.xlsx) or a CSV file."))


def _looks_like_text(head: bytes) -> bool:
    return b"\x00" not in head


def check_zip(data: bytes, limits: Limits) -> None:
    """Refuse zip bombs and macros from the zip's directory, before inflating."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileRefused(_l("This workbook is damaged and cannot be read.")) from None
    if len(entries) > limits.max_entries:
        raise FileRefused(_l("This workbook has too many parts to be a spreadsheet."))
    total = 0
    names = {e.filename for e in entries}
    for entry in entries:
        total += entry.file_size
        if entry.file_size > 1_000_000 and entry.file_size > limits.max_ratio * max(
            entry.compress_size, 1
        ):
            raise FileRefused(_l("This file unpacks to far more than its size (a zip bomb)."))
    if total > limits.max_unpacked_bytes:
        raise FileRefused(_l("This workbook is too large once unpacked."))
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise FileRefused(_l("This is not an Excel workbook (.xlsx) or a CSV file."))
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise FileRefused(_l("Macro-enabled workbooks (.xlsm) are not accepted; save as .xlsx."))
    types = archive.read("[Content_Types].xml")[:200_000].decode("utf-8", "replace")
    if any(marker in types for marker in MACRO_CONTENT_TYPES):
        raise FileRefused(_l("Macro-enabled workbooks (.xlsm) are not accepted; save as .xlsx."))


def cell_text(value) -> str:
    """A cell as the text the checks read: dates as 2024-03-01, whole numbers without
    ``.0``, formulas as their text, everything stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value).strip()


@dataclass
class Sheet:
    """The header and a stream of data rows (row number in the file, cells)."""

    title: str
    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[str]]]
    declared_rows: int | None = None
    close: object = None


def open_sheet(file_name: str, data: bytes, is_header, key_names: str, limits: Limits) -> Sheet:
    """The sheet whose header row holds the template's key columns (``is_header`` says
    so of a row's cells), ready to stream; ``key_names`` names them in a refusal."""
    kind = file_kind(file_name, data)
    if kind == "csv":
        return _csv_sheet(data, is_header, key_names, limits)
    check_zip(data, limits)
    return _xlsx_sheet(data, is_header, key_names, limits)


def _checked(cells: list, row_number: int, limits: Limits) -> list[str]:
    texts = [cell_text(v) for v in cells]
    while texts and texts[-1] == "":
        texts.pop()
    for text in texts:
        if len(text) > limits.max_cell_chars:
            raise FileRefused(
                _l(
                    "Row %(row)s has a cell of %(chars)s characters (at most %(limit)s).",
                    row=row_number,
                    chars=len(text),
                    limit=limits.max_cell_chars,
                )
            )
    return texts


def _too_many_rows(limits: Limits):
    return FileRefused(
        _l(
            "This file has more than %(limit)s rows; split it into smaller files.",
            limit=limits.max_rows,
        )
    )


def _find_header(rows, is_header, limits: Limits, scan: int = 10):
    """The first row (of the first ``scan``) naming every key column."""
    for _ in range(scan):
        try:
            number, cells = next(rows)
        except StopIteration:
            return None
        texts = _checked(cells, number, limits)
        if is_header([t.strip() for t in texts]):
            return number, [t.strip() for t in texts]
    return None


def _data_rows(rows, limits: Limits, header_row: int) -> Iterator[tuple[int, list[str]]]:
    count = 0
    for number, cells in rows:
        texts = _checked(cells, number, limits)
        if not any(texts):
            continue
        count += 1
        if count > limits.max_rows:
            raise _too_many_rows(limits)
        yield number, texts


def _xlsx_sheet(data: bytes, is_header, key_names: str, limits: Limits) -> Sheet:
    import warnings

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            # openpyxl warns about extensions it does not read (data validation, styles)
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:
        raise FileRefused(_l("This workbook is damaged and cannot be read.")) from None
    try:
        for sheet in workbook.worksheets:
            declared = _declared_rows(sheet)
            if declared is not None and declared > limits.max_rows + 10:
                raise _too_many_rows(limits)
            rows = (
                (number, list(values))
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            )
            found = _find_header(rows, is_header, limits)
            if found is not None:
                header_row, header = found
                return Sheet(
                    title=sheet.title,
                    header=header,
                    header_row=header_row,
                    rows=_data_rows(rows, limits, header_row),
                    declared_rows=declared - header_row if declared else None,
                    close=workbook.close,
                )
    except FileRefused:
        workbook.close()
        raise
    except Exception:
        workbook.close()
        raise FileRefused(_l("This workbook is damaged and cannot be read.")) from None
    workbook.close()
    raise FileRefused(
        _l(
            "No sheet of this workbook has the template's header row (%(columns)s): "
            "use the import template or an export of the list.",
            columns=key_names,
        )
    )


def _declared_rows(sheet) -> int | None:
    try:
        sheet.calculate_dimension(force=False)
    except Exception:
        return None
    return sheet.max_row if isinstance(sheet.max_row, int) else None


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (GBK's superset: Excel's "CSV" on
    Chinese Windows), else refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise FileRefused(_l("This CSV file is neither UTF-8 nor GBK text.")) from None


def _csv_sheet(data: bytes, is_header, key_names: str, limits: Limits) -> Sheet:
    text = decode_csv(data)
    if text.count("\n") > limits.max_rows + 10:
        raise _too_many_rows(limits)
    csv.field_size_limit(max(limits.max_cell_chars * 4, 131072))
    reader = csv.reader(io.StringIO(text, newline=""))

    def rows():
        try:
            yield from enumerate(reader, start=1)
        except csv.Error:
            raise FileRefused(_l("This CSV file cannot be read (a broken quote?).")) from None

    stream = rows()
    found = _find_header(stream, is_header, limits)
    if found is None:
        raise FileRefused(
            _l(
                "No sheet of this workbook has the template's header row (%(columns)s): "
                "use the import template or an export of the list.",
                columns=key_names,
            )
        )
    header_row, header = found
    return Sheet(
        title="CSV",
        header=header,
        header_row=header_row,
        rows=_data_rows(stream, limits, header_row),
    )
