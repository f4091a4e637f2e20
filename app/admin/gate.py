"""The one gate every admin route passes.

Each route says what it needs, in the spirit of indico's ``RHAdminBase._check_access``:
a ``Permission`` (``app/access.py``) and, for routes that act on records, the rows named
by the request whose scope the user must cover::

    @expose("/pay/", methods=("POST",))
    @requires(Permission.PAY_PLAN_MONTH, Row(PlanMonth, write=True))
    def pay_view(self):
        month = self.row()          # already loaded through the user's write scope

``GatedView._handle_view`` runs before every exposed method (Flask-Admin calls it
first) and checks, in order:

1. signed in, else the login page (with ``next``);
2. the permission (the role), else 403 with a page saying who may do it;
3. the view's own switches (``can_create``, ``can_edit`` ... for the built-in routes);
4. each named row, through ``access.visible``/``access.writable`` (or the view's own
   ``get_one`` for its model), else 404 — a record outside the user's area does not
   exist for them.

A route without a declaration stops the app at start-up (``check_declarations``), and
a test walks the URL map so that a new route cannot slip past. No view writes its own
``is_accessible``: the base classes derive it from the index route's requirement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import access
from app.access import Permission
from app.extensions import db
from app.models.choices import ROLES, label
from app.validation import parse_id

#: the model of the view itself (its ``get_one`` applies its own narrowing)
VIEW_MODEL = None


@dataclass(frozen=True)
class Row:
    """A record the request names by id, in ``field`` of its query string or form."""

    model: type | None = VIEW_MODEL
    field: str = "id"
    #: the user must be able to change it (else: read it)
    write: bool = False
    #: a missing id is the route's own business (Flask-Admin redirects to the list)
    required: bool = True


@dataclass(frozen=True)
class Requirement:
    permission: Permission
    rows: tuple[Row, ...] = ()
    #: names of view attributes that must be true (``can_create``, ``can_export`` ...)
    switches: tuple[str, ...] = ()
    #: for READ/WRITE: the model (None: the view's)
    model: type | None = None


def requires(permission: Permission, *rows: Row, switches=(), model=None):
    """Declare what an exposed view method needs; put it under ``@expose``."""

    def mark(fn):
        fn.requirement = Requirement(permission, tuple(rows), tuple(switches), model)
        return fn

    return mark


def who_may(permission: Permission, model=None) -> str:
    """The roles that may do it, in the user's language: 区级管理员、街道工作人员."""
    names = [str(label(ROLES, role)) for role in access.roles_for(permission, model)]
    return _("、").join(names) if names else _("nobody")


@dataclass
class GateResult:
    rows: dict[str, object] = field(default_factory=dict)


class GatedView:
    """Mixin for Flask-Admin views: the gate, and ``is_accessible`` derived from it.

    Views set ``requirements`` (route name → Requirement) for routes they inherit
    from Flask-Admin and decorate their own routes with ``@requires``.
    """

    #: requirements of inherited routes (Flask-Admin's own), by method name
    requirements: dict[str, Requirement] = {}
    #: the route whose requirement decides whether the view is in the menu at all
    index_route = "index"

    # ------------------------------------------------------------ declarations
    def requirement_for(self, name: str) -> Requirement | None:
        declared = getattr(getattr(type(self), name, None), "requirement", None)
        return declared or self.requirements.get(name)

    def exposed_routes(self) -> list[str]:
        return sorted({url_name for _url, url_name, _methods in self._urls})

    def check_declarations(self) -> None:
        """Refuse to start with a route that declares nothing."""
        missing = [name for name in self.exposed_routes() if self.requirement_for(name) is None]
        if missing:
            raise RuntimeError(
                f"admin view {type(self).__name__} has routes without a permission: {missing}"
            )

    # --------------------------------------------------------------- checking
    def _model_for(self, requirement: Requirement):
        return requirement.model or getattr(self, "model", None)

    #: a permission every route of this view needs besides its own (the sponsor
    #: portal's views: ``USE_SPONSOR_PORTAL``; the staff project pages: staff only)
    view_permission: Permission | None = None

    def holds(self, requirement: Requirement, user=None) -> bool:
        """Does the user's role hold the route's permission (and the view's)?"""
        user = user or current_user
        if self.view_permission is not None and not access.can(user, self.view_permission):
            return False
        return access.can(user, requirement.permission, self._model_for(requirement))

    def switched_on(self, requirement: Requirement) -> bool:
        return all(getattr(self, switch) for switch in requirement.switches)

    def allows(self, requirement: Requirement, user=None) -> bool:
        """Role and switches: may this user use the route at all?"""
        return self.holds(requirement, user) and self.switched_on(requirement)

    def is_accessible(self) -> bool:
        requirement = self.requirement_for(self.index_route)
        return bool(
            current_user.is_authenticated and requirement is not None and self.allows(requirement)
        )

    def inaccessible_callback(self, name, **kwargs):
        return self._refuse(self.requirement_for(self.index_route))

    def _handle_view(self, name, **kwargs):
        requirement = self.requirement_for(name)
        if requirement is None:  # check_declarations makes this unreachable
            return self._refuse(None)
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        if not self.holds(requirement):
            return self._refuse(requirement)
        if not self.switched_on(requirement):
            return self._refuse(None)  # nobody does this here (a read-only view)
        g.gate = GateResult()
        for row in requirement.rows:
            raw = request.values.get(row.field)
            if raw is None and not row.required:
                continue
            obj = self._load_row(row, raw)
            if obj is None:
                return render_template("error.html", code=404), 404
            g.gate.rows[row.field] = obj
        return None

    def _load_row(self, row: Row, raw):
        pk = parse_id(raw)
        if pk is None:
            return None
        if row.model is VIEW_MODEL:
            return self.get_one(pk)
        select = access.writable if row.write else access.visible
        with db.session.no_autoflush:
            return db.session.scalars(
                select(row.model, current_user).where(row.model.id == pk)
            ).first()

    def row(self, field_name: str = "id"):
        """The record the gate loaded for ``field_name`` (in scope, never None)."""
        return g.gate.rows[field_name]

    def _refuse(self, requirement: Requirement | None):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        who = ""
        if requirement is not None:
            if self.view_permission is not None and not access.can(
                current_user, self.view_permission
            ):
                who = who_may(self.view_permission)
            else:
                who = who_may(requirement.permission, self._model_for(requirement))
        return render_template("error.html", code=403, who_may=who), 403
