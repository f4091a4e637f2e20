"""What both imports share: the header mapped to columns, each row's cells read into
values (or errors), the dry-run report, and progress written where a page can see it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from app.extensions import db
from app.models import ImportBatch
from app.services.imports.columns import MASKED, CellError, Column, choice_lookup, parse_cell
from app.services.imports.reading import FileRefused, Sheet

#: errors kept per import (a file of 50,000 bad rows still says how many)
MAX_REPORTED = 5000


@dataclass
class Problem:
    row: int
    column: Column | None
    message: str
    household_id: int | None = None

    def as_dict(self, columns: dict[str, int]) -> dict:
        return {
            "row": self.row,
            "col": columns.get(self.column.key) if self.column is not None else None,
            "column": str(self.column.label) if self.column is not None else "",
            "message": self.message,
            "household_id": self.household_id,
        }


@dataclass
class Row:
    """One data row: its number in the file, the values of its valid non-empty cells,
    the columns whose cell held a masked export value (unchanged), and its errors."""

    number: int
    values: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    masked: set = field(default_factory=set)
    errors: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    #: new / update / unchanged / error, once classified
    cls: str = "unchanged"

    def error(self, column: Column | None, message, household_id: int | None = None) -> None:
        self.errors.append(Problem(self.number, column, str(message), household_id))

    def note(self, column: Column | None, message, household_id: int | None = None) -> None:
        self.notes.append(Problem(self.number, column, str(message), household_id))

    def has(self, key: str) -> bool:
        return key in self.values

    def errors_keys(self) -> set[str]:
        """The columns this row already has an error on."""
        return {p.column.key for p in self.errors if p.column is not None}


def map_header(header: list[str], columns: list[Column]) -> dict[str, int]:
    """column key → index in the row; unknown headers are ignored; a header twice is
    refused (which of the two would count?)."""
    by_name = {}
    for column in columns:
        for name in column.header_names():
            by_name[name] = column
    found: dict[str, int] = {}
    for index, text in enumerate(header):
        column = by_name.get(text)
        if column is None:
            continue
        if column.key in found:
            raise FileRefused(_l("The column %(column)s appears twice.", column=text))
        found[column.key] = index
    return found


def header_check(columns: list[Column], keys: tuple[str, ...]):
    wanted = [next(c for c in columns if c.key == k) for k in keys]

    def is_header(texts: list[str]) -> bool:
        present = set(texts)
        return all(column.header_names() & present for column in wanted)

    return is_header, "、".join(str(c.label) for c in wanted)


class Progress:
    """rows_done of the batch, written so that the progress page sees it while the
    job's own transaction is still open: on PostgreSQL through a connection of its
    own (committed at once); on SQLite (the demo, one writer at a time) only between
    transactions, by the caller."""

    def __init__(self, batch_id: int, every: int = 500):
        self.batch_id = batch_id
        self.every = every
        self.last = 0
        self.separate = db.engine.dialect.name == "postgresql"

    def __call__(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        if not force and done - self.last < self.every:
            return
        self.last = done
        values = {"rows_done": done}
        if total is not None:
            values["rows_total"] = total
        statement = update(ImportBatch).where(ImportBatch.id == self.batch_id).values(**values)
        if self.separate:
            with db.engine.begin() as connection:
                connection.execute(statement)


def read_rows(
    sheet: Sheet, columns: list[Column], lookups: dict, progress: Progress
) -> tuple[list[Row], dict[str, int]]:
    """Every data row read into values; cell errors recorded on the row."""
    index = map_header(sheet.header, columns)
    present = [(c, index[c.key]) for c in columns if c.key in index]
    for column, _i in present:
        if column.kind == "choice" and column.key not in lookups:
            lookups[column.key] = choice_lookup(column.choices)
    rows: list[Row] = []
    for number, cells in sheet.rows:
        row = Row(number)
        for column, i in present:
            raw = cells[i] if i < len(cells) else ""
            if not raw:
                continue
            row.raw[column.key] = raw
            if column.kind in ("id", "phone") and MASKED.match(raw):
                row.masked.add(column.key)
                continue
            if column.kind in ("area", "organisation"):
                row.values[column.key] = raw  # looked up by the import, in the user's area
                continue
            try:
                row.values[column.key] = parse_cell(column, raw, lookups)
            except CellError as exc:
                row.error(column, exc.message)
        rows.append(row)
        progress(len(rows), sheet.declared_rows)
    return rows, index


def report(rows: list[Row], index: dict[str, int]) -> tuple[dict, list, list]:
    counts = Counter({"new": 0, "update": 0, "unchanged": 0, "error": 0})
    errors, notes = [], []
    for row in rows:
        if row.errors:
            row.cls = "error"
        counts[row.cls] += 1
        if len(errors) < MAX_REPORTED:
            errors.extend(p.as_dict(index) for p in row.errors)
        if len(notes) < MAX_REPORTED:
            notes.extend(p.as_dict(index) for p in row.notes)
    return dict(counts), errors[:MAX_REPORTED], notes[:MAX_REPORTED]


def required_message() -> str:
    return _("Required for a new record.")
