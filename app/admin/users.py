"""The account forms and list actions of the user view (系统设置 → 用户).

Hand-written forms rather than scaffolded ones: a new account's role has no default
(the administrator must choose), the area drop-down says each area's level (and the
page's script offers only the areas that fit the chosen role), sponsors choose among
enterprises and social organisations only, and the initial password is checked by
the one policy. Every rule is the service's or the model's
(``users.password_problem``, ``role_area_problems``, ``users.own_account_problem``);
the forms only put their messages beside the field they concern.
"""

from __future__ import annotations

import json

from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.sqla.fields import QuerySelectField
from flask_admin.form import BaseForm, Select2Field
from flask_admin.form.widgets import Select2Widget
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import InputRequired, Length, Optional

from app.extensions import db
from app.models import Area, Organisation, User
from app.models import choices as c
from app.models.user import ROLE_AREA_LEVEL, role_area_problems
from app.services import users
from app.validation import parse_id

LEVEL_ORDER = {"district": 0, "street": 1, "community": 2}
LOCALES = [("zh_Hans_CN", "简体中文"), ("en", "English")]


def _areas():
    areas = db.session.scalars(select(Area)).all()
    return sorted(areas, key=lambda a: (LEVEL_ORDER.get(a.level, 9), a.parent_id or 0, a.name))


def _area_label(area: Area) -> str:
    level = c.label(c.AREA_LEVELS, area.level)
    if area.level == "community" and area.parent is not None:
        return f"{area.parent.name} / {area.name}（{level}）"
    return f"{area.name}（{level}）"


def _sponsor_organisations():
    return db.session.scalars(
        select(Organisation)
        .where(Organisation.kind.in_(c.SPONSOR_ORGANISATION_KINDS))
        .order_by(Organisation.name)
    ).all()


class AreaSelectWidget(Select2Widget):
    """The area drop-down, telling the page's script each area's level and each role's
    level (``static/yijia.js`` then offers only the areas that fit the role)."""

    def __call__(self, field, **kwargs):
        levels = {str(area.id): area.level for _pk, area in field._get_object_list()}
        kwargs["data-area-levels"] = json.dumps(levels)
        kwargs["data-role-levels"] = json.dumps(ROLE_AREA_LEVEL)
        return super().__call__(field, **kwargs)


class _UserForm(BaseForm):
    username = StringField(
        _l("Username"),
        validators=[InputRequired(), Length(max=40)],
        description=_l("Letters, digits and . _ - ; used to log in."),
    )
    full_name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=40)])
    role = Select2Field(
        _l("Role"),
        choices=c.ROLES,
        allow_blank=True,
        blank_text=_l("Choose a role"),
        validators=[Optional()],
    )
    area = QuerySelectField(
        _l("Area"),
        query_factory=_areas,
        get_label=_area_label,
        allow_blank=True,
        blank_text="—",
        widget=AreaSelectWidget(),
        description=_l(
            "The district for district roles, a street for a street-office clerk, a "
            "community for a community worker; none for a sponsor."
        ),
    )
    organisation = QuerySelectField(
        _l("Organisation"),
        query_factory=_sponsor_organisations,
        allow_blank=True,
        blank_text="—",
        widget=Select2Widget(),
        description=_l("Sponsor accounts only: their enterprise or social organisation."),
    )
    locale = Select2Field(
        _l("Language"), choices=LOCALES, allow_blank=True, blank_text="—", validators=[Optional()]
    )

    #: the password field of this form, and whether it must be filled
    password_field = "password"
    password_required = True

    def _password(self):
        return getattr(self, self.password_field)

    def validate(self, extra_validators=None) -> bool:
        is_valid = super().validate(extra_validators)
        current = getattr(self, "_obj", None)
        problems: dict = {}
        if not self.role.data:
            problems["role"] = _l("Choose a role.")
        else:
            problems.update(
                role_area_problems(self.role.data, self.area.data, self.organisation.data)
            )
        name = (self.username.data or "").strip()
        if not self.username.errors:
            problem = users.username_problem(name, current=current)
            if problem:
                problems["username"] = problem
        password = self._password().data
        if password or self.password_required:
            problem = users.password_problem(password, username=name)
            if problem:
                problems[self.password_field] = problem
        if current is not None and self.role.data:
            own = users.own_account_problem(
                current_user, current, role=self.role.data, is_active=self.is_active.data
            )
            problems.update(own or {})
        for field, message in problems.items():
            errors = getattr(self, field).errors
            if isinstance(errors, tuple):  # WTForms leaves a tuple on unvalidated fields
                errors = getattr(self, field).errors = list(errors)
            # plain text: Flask-Admin's template shows only ``str`` errors, not lazy ones
            if str(message) not in map(str, errors):
                errors.append(str(message))
        return is_valid and not problems

    def populate_obj(self, obj: User) -> None:
        obj.username = (self.username.data or "").strip()
        obj.full_name = (self.full_name.data or "").strip()
        obj.role = self.role.data
        obj.area = self.area.data
        obj.organisation = self.organisation.data
        obj.locale = self.locale.data or None
        if hasattr(self, "is_active"):
            obj.is_active = bool(self.is_active.data)

    def apply_password(self, user: User) -> None:
        """Set the initial password typed (to be changed at the next login)."""
        password = self._password().data
        if password:
            users.reset_password(user, password)


class UserCreateForm(_UserForm):
    password = PasswordField(
        _l("Initial password"),
        validators=[InputRequired()],
        description=_l(
            "At least %(count)s characters, not the username, not a common password. "
            "Give it to the user in person: they must change it at their first login.",
            count=users.MIN_PASSWORD_LENGTH,
        ),
        render_kw={"autocomplete": "new-password"},
    )


class UserEditForm(_UserForm):
    is_active = BooleanField(
        _l("Active"),
        description=_l("An inactive account cannot log in; its records keep its name."),
    )
    new_password = PasswordField(
        _l("New initial password"),
        description=_l(
            "Leave empty to keep the current password. A new one ends the user's sessions, "
            "unlocks the account and must be changed at the next login."
        ),
        render_kw={"autocomplete": "new-password"},
    )
    password_field = "new_password"
    password_required = False


class UserActionsMixin:
    """List actions: deactivate, activate, unlock (each through the view's scope)."""

    def _selected_users(self, ids) -> list[User]:
        pks = [pk for pk in map(parse_id, ids) if pk is not None]
        return self.get_query().filter(User.id.in_(pks)).all() if pks else []

    @action(
        "deactivate",
        _l("Deactivate"),
        _l("Deactivate the selected accounts? They can no longer log in."),
    )
    def action_deactivate(self, ids):
        changed = 0
        for user in self._selected_users(ids):
            if user.id == current_user.id:
                flash(_("You cannot deactivate your own account."), "error")
                continue
            users.deactivate(user)
            changed += 1
        db.session.commit()
        flash(_("%(count)s account(s) deactivated.", count=changed), "success")

    @action("activate", _l("Activate"))
    def action_activate(self, ids):
        selected = self._selected_users(ids)
        for user in selected:
            users.activate(user)
        db.session.commit()
        flash(_("%(count)s account(s) activated.", count=len(selected)), "success")

    @action("unlock", _l("Unlock"))
    def action_unlock(self, ids):
        selected = self._selected_users(ids)
        for user in selected:
            users.unlock(user)
        db.session.commit()
        flash(_("%(count)s account(s) unlocked.", count=len(selected)), "success")
