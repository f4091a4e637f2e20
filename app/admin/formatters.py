"""How values read in the admin panel.

- Column formatters for Flask-Admin's ``column_formatters`` (``month``, ``minute``,
  ``tick``, ``yuan``).
- ``install_display_formatters(view)``, which every ``ScopedModelView`` runs: its
  ``money_columns`` read ``¥38,900.00`` and align right in lists (exports keep them as
  numbers); a choice column without a value is blank, never "None"; yes/no columns
  read ✓/—, lists of things are joined with 、.
- Amounts in templates go through the ``yuan`` Jinja filter (``{{ amount|yuan }}``),
  which is the same ``app.validation.format_yuan``.
"""

from __future__ import annotations

from decimal import Decimal

from flask_admin.model import typefmt
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.validation import format_yuan

#: the CSS class of a number that lines up on the right of its table cell
NUMBER_CLASS = "yj-num"


def yuan_cell(value) -> Markup | str:
    """An amount for a table cell: ``¥38,900.00``, aligned right (``yj-num``)."""
    if value is None or value == "":
        return ""
    return Markup('<span class="{}">{}</span>').format(NUMBER_CLASS, format_yuan(value))


def yuan(_view, _context, model, name) -> Markup | str:
    """Column formatter: the amount in ``name`` as ``¥38,900.00``."""
    return yuan_cell(getattr(model, name))


def month(_view, _context, model, name) -> str:
    value = getattr(model, name)
    return f"{value:%Y-%m}" if value else ""


def minute(_view, _context, model, name) -> str:
    """A moment to the minute: 2026-11-28 14:05."""
    value = getattr(model, name)
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def tick(_view, _context, model, name) -> str:
    return "✓" if getattr(model, name) else "—"


# ------------------------------------------------------------ type formatters
def _tick(_view, value, _name) -> str:
    # Flask-Admin's own puts an English tooltip ("is_active: true") on an icon, and its
    # details pages print True/False
    return "✓" if value else "—"


def _yes_no(_view, value, _name) -> str:
    return str(_l("Yes") if value else _l("No"))


def _joined(_view, values, _name) -> str:
    return "、".join(str(v) for v in values)


LIST_TYPE_FORMATTERS = {
    **typefmt.BASE_FORMATTERS,
    bool: _tick,
    list: _joined,
}
DETAIL_TYPE_FORMATTERS = {**typefmt.DETAIL_FORMATTERS, bool: _tick, list: _joined}
EXPORT_TYPE_FORMATTERS = {**typefmt.EXPORT_FORMATTERS, bool: _yes_no, list: _joined}


# ------------------------------------------------------------------ install
def _money(formatter):
    """Show what ``formatter`` (or the plain attribute) gives as an amount, unless it
    is already text (a masked value such as ``***``)."""

    def show(view, context, model, name):
        value = formatter(view, context, model, name) if formatter else getattr(model, name)
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            return yuan_cell(value)
        return value

    return show


def _blank_if_none(_view, _context, model, name):
    # Flask-Admin returns a choice column's value itself when it has no label (None
    # included), past the type formatters that would blank it
    value = getattr(model, name)
    return "" if value is None else value


def install_display_formatters(view) -> None:
    """Set the view's formatters up as described in the module docstring; run after
    the personal-data formatters (a masked amount stays masked) and before
    Flask-Admin's own set-up (which keeps what is set here)."""
    lists = dict(view.column_formatters or {})
    details = dict(view.column_formatters_detail or lists)
    exports = dict(view.column_formatters_export or {})
    for name in view.money_columns:
        lists[name] = _money(lists.get(name))
        details[name] = _money(details.get(name))
    for name in view.choices:
        for formatters in (lists, details, exports):
            formatters.setdefault(name, _blank_if_none)
    view.column_formatters = lists
    view.column_formatters_detail = details
    view.column_formatters_export = exports
    personal = set(view.personal_columns)
    view.numeric_export_columns = tuple(
        dict.fromkeys(
            [*view.numeric_export_columns, *(c for c in view.money_columns if c not in personal)]
        )
    )
    if view.column_type_formatters is None:
        view.column_type_formatters = dict(LIST_TYPE_FORMATTERS)
    if view.column_type_formatters_detail is None:
        view.column_type_formatters_detail = dict(DETAIL_TYPE_FORMATTERS)
    if view.column_type_formatters_export is None:
        view.column_type_formatters_export = dict(EXPORT_TYPE_FORMATTERS)
