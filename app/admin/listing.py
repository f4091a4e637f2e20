"""What makes a list page cheap to render at a province's size: what is the same on
every row drawn once per page instead of once per row (the row actions, the inline
editable cells), and each row's value cells drawn in one Python loop (``RowCells``).

Flask-Admin draws each row's icons (view, edit, delete, the case story) by calling a
macro per action per row; each builds its URLs with ``url_for`` and, for delete, renders
a small form whose hidden field quotes the whole return URL. On the district admin's
household list that was a quarter of the page's CPU. The icons of every row are the
same but for the row's id, so they are drawn once, for a stand-in row whose id is a
marker, and each row gets that HTML with the marker replaced by its own id.

Only actions whose markup depends on the id alone take this path (Flask-Admin's view,
edit and delete actions, endpoint links, links with a URL pattern); a view with any
other row action keeps Flask-Admin's per-row drawing.
"""

from __future__ import annotations

import re
import secrets
from types import SimpleNamespace

from flask_admin.model import template as row_templates
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from markupsafe import Markup, escape

#: a number no page holds but where a row's id was put: random per process, 18 digits,
#: so neither a typed search nor another row's id can be mistaken for it (digits are
#: never %-encoded, so it reads the same inside a URL's query)
ROW_ID_MARKER = str(10**17 + secrets.randbelow(9 * 10**17))

#: the row actions whose markup depends on the row's id alone
ID_ONLY_ACTIONS = (
    row_templates.ViewRowAction,
    row_templates.ViewPopupRowAction,
    row_templates.EditRowAction,
    row_templates.EditPopupRowAction,
    row_templates.DeleteRowAction,
    row_templates.EndpointLinkRowAction,
)


def id_only(action) -> bool:
    if type(action) in ID_ONLY_ACTIONS:
        return True
    return type(action) is row_templates.LinkRowAction and isinstance(action.url, str)


class RowActionsOnce:
    """Called in the list template as ``row_actions_once(row_id, row)``: the row's action
    icons, from the markup drawn once for the stand-in row on the first call."""

    def __init__(self, actions, pk_name: str):
        self.actions = actions
        self.pk_name = pk_name
        self.pattern: str | None = None

    @classmethod
    def for_view(cls, view, actions) -> RowActionsOnce | None:
        """None when some action's markup may depend on more than the id (the list
        then draws row by row, as Flask-Admin does)."""
        if not actions or not all(id_only(a) for a in actions):
            return None
        pk = view._primary_key
        return cls(actions, pk) if isinstance(pk, str) else None

    @pass_context
    def __call__(self, context, row_id, row) -> Markup:
        text = str(row_id)  # Flask-Admin gives the key as text ("1000000")
        if not (text.isascii() and text.isdigit()):  # a key URLs would quote: row by row
            return Markup("".join(str(a.render(context, row_id, row)) for a in self.actions))
        if self.pattern is None:
            stand_in = SimpleNamespace(**{self.pk_name: ROW_ID_MARKER})
            self.pattern = "".join(
                str(action.render(context, ROW_ID_MARKER, stand_in)) for action in self.actions
            )
        # digits need neither escaping nor quoting
        return Markup(self.pattern.replace(ROW_ID_MARKER, text))


#: where a row's value goes in the editable cell drawn once (letters and digits only,
#: which escaping leaves alone)
VALUE_MARKER = "yjv" + secrets.token_hex(12)
#: the editable cell's attributes that are the same on every row and long: kept once a
#: page (``EditableCells.shared``) and copied onto each cell by static/yijia.js
SHARED_ATTRIBUTES = re.compile(r'\s(data-source|data-csrf)="([^"]*)"')


class EditableCells:
    """The list's inline-editable cells (``column_editable_list``), drawn from one form
    a page instead of a form per row. Flask-Admin builds a WTForms form for every row
    and writes each cell's choices (``data-source``, some 400 bytes) and CSRF token
    into it: for the needs list's status, a sixth of the page's time and of its size.
    Here each column's cell is drawn once, for a marker id and a marker value; a row
    gets it with its own id and value (escaped as Flask-Admin escapes them), and the
    choices and token are written once beside the table, from where static/yijia.js
    copies them onto each cell before x-editable starts."""

    def __init__(self, patterns: dict[str, str], shared: dict[str, list[tuple[str, str]]]):
        self.patterns = patterns
        self._shared = shared
        self.columns = frozenset(patterns)

    @classmethod
    def for_view(cls, view) -> EditableCells | None:
        """None when a column's cell may depend on more than the row's id and shown
        value (a yes/no field's ``data-value`` is its data): drawn row by row then."""
        if not view.lean_editable_cells():
            return None
        form = view.list_form()
        csrf = form.csrf_token._value() if getattr(form, "csrf_token", None) else generate_csrf()
        patterns, shared = {}, {}
        for column in view.column_editable_list:
            html = str(form[column](pk=ROW_ID_MARKER, display_value=VALUE_MARKER, csrf=csrf))
            shared[column] = SHARED_ATTRIBUTES.findall(html)
            patterns[column] = SHARED_ATTRIBUTES.sub("", html)
        return cls(patterns, shared)

    def cell(self, column: str, row_id, value) -> Markup:
        text = str(row_id)
        if not (text.isascii() and text.isdigit()):
            raise ValueError("editable cells need integer keys")  # for_view checked it
        html = self.patterns[column].replace(ROW_ID_MARKER, text)
        return Markup(html.replace(VALUE_MARKER, str(escape(value))))

    def shared(self) -> Markup:
        """One hidden element per editable column with what its cells share."""
        parts = []
        for column, attributes in self._shared.items():
            attrs = "".join(f' {name}="{value}"' for name, value in attributes)  # escaped
            parts.append(
                Markup('<span hidden data-yj-editable="{}"').format(column)
                + Markup(attrs)
                + Markup("></span>")
            )
        return Markup("").join(parts)


class RowCells:
    """Called in the list template as ``row_cells(row)``: the row's value cells, as
    Flask-Admin's template draws them (``<td class="col-…">`` and the value escaped as
    Jinja escapes it), in one Python loop instead of a template loop that resolves the
    view, the editable test and the value getter again for each of some 200 cells."""

    def __init__(self, view, columns, editable: EditableCells | None):
        self.view = view
        self.columns = [(c, str(escape(c))) for c, _label in columns]
        self.editable = editable

    @classmethod
    def for_view(cls, view, columns, editable: EditableCells | None) -> RowCells | None:
        """None when an editable column is drawn by a form per row (the template then
        draws every cell, as Flask-Admin does)."""
        if view.column_editable_list and editable is None:
            return None
        return cls(view, columns, editable)

    @pass_context
    def __call__(self, context, row) -> Markup:
        view = self.view
        formatters, type_formatters = view.column_formatters, view.column_type_formatters
        editable = self.editable
        pk = view.get_pk_value(row) if editable is not None else None
        parts = []
        for column, css in self.columns:
            value = view._get_list_value(context, row, column, formatters, type_formatters)
            if editable is not None and column in editable.columns:
                cell = editable.cell(column, pk, value)
            else:
                cell = escape(value)
            parts.append(f'<td class="col-{css}">{cell}</td>')
        return Markup("".join(parts))
