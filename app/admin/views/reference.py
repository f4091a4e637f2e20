"""Areas, hardship categories and user accounts: the district administrator's."""

from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload
from wtforms import PasswordField
from wtforms.validators import Length, Optional

from app.admin.base import ScopedModelView
from app.models import Area, HardshipCategory, User
from app.models import choices as c
from app.validation import InvalidValue


class AreaView(ScopedModelView):
    choices = {"level": c.AREA_LEVELS}
    column_list = ("id", "name", "level", "parent", "code")
    column_details_list = ("id", "name", "level", "parent", "code", "created_at", "updated_at")
    column_default_sort = [("level", False), ("parent_id", False), ("name", False)]
    column_searchable_list = ("name",)
    form_columns = ("name", "level", "parent", "code")
    column_filters = [FilterEqual(Area.level, _l("Level"), options=c.AREA_LEVELS)]
    allow_delete = False  # areas are referenced everywhere; rename instead

    def eager(self, query):
        return query.options(selectinload(Area.parent))


class HardshipCategoryView(ScopedModelView):
    column_list = ("id", "code", "name", "sort_order", "is_active")
    column_default_sort = ("sort_order", False)
    form_columns = ("code", "name", "sort_order", "is_active")
    column_searchable_list = ("name", "code")
    column_filters = [BooleanEqualFilter(HardshipCategory.is_active, _l("Active"))]


class UserView(ScopedModelView):
    choices = {"role": c.ROLES, "locale": [("zh_Hans_CN", "简体中文"), ("en", "English")]}
    column_list = (
        "id",
        "username",
        "full_name",
        "role",
        "area",
        "organisation",
        "is_active",
        "last_login_at",
    )
    column_details_list = (
        "id",
        "username",
        "full_name",
        "role",
        "area",
        "organisation",
        "is_active",
        "locale",
        "last_login_at",
        "created_at",
        "updated_at",
    )
    column_export_list = (
        "id",
        "username",
        "full_name",
        "role",
        "area",
        "organisation",
        "is_active",
        "last_login_at",
    )
    column_default_sort = ("username", False)
    column_searchable_list = ("username", "full_name")
    form_columns = ("username", "full_name", "role", "area", "organisation", "is_active", "locale")
    form_extra_fields = {
        "password": PasswordField(
            _l("New password"),
            validators=[Optional(), Length(min=10, message=_l("At least 10 characters."))],
            description=_l("Leave empty to keep the current password."),
        )
    }
    column_filters = [
        FilterEqual(User.role, _l("Role"), options=c.ROLES),
        BooleanEqualFilter(User.is_active, _l("Active")),
    ]
    allow_delete = False  # deactivate instead: records keep who created them

    def eager(self, query):
        return query.options(selectinload(User.area), selectinload(User.organisation))

    def on_model_change(self, form, model, is_created):
        password = form.password.data
        if password:
            model.set_password(password)
        elif is_created:
            raise InvalidValue(_l("A new account needs a password."))
        super().on_model_change(form, model, is_created)
