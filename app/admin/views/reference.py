"""Areas, hardship categories and user accounts: the district administrator's."""

from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.admin.base import ScopedModelView
from app.admin.users import UserActionsMixin, UserCreateForm, UserEditForm
from app.models import Area, HardshipCategory, User
from app.models import choices as c


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
    # the code (dibao, tekun …) is for imports and the CLI; people read the name, and
    # the administrator sets the code in the form
    column_list = ("id", "name", "sort_order", "is_active")
    column_details_list = ("id", "name", "sort_order", "is_active", "created_at", "updated_at")
    column_default_sort = ("sort_order", False)
    form_columns = ("code", "name", "sort_order", "is_active")
    column_searchable_list = ("name", "code")
    column_filters = [BooleanEqualFilter(HardshipCategory.is_active, _l("Active"))]


class UserView(UserActionsMixin, ScopedModelView):
    """Accounts, run by the district administrator alone: create with a role, the area
    that fits it and an initial password the user must change; reset a password;
    deactivate (never delete); unlock after too many failed logins. The rules are the
    service's (``app/services/users.py``) and the model's; the forms are in
    ``app/admin/users.py``."""

    choices = {"role": c.ROLES, "locale": [("zh_Hans_CN", "简体中文"), ("en", "English")]}
    column_list = (
        "id",
        "username",
        "full_name",
        "role",
        "area",
        "organisation",
        "is_active",
        "locked_at",
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
        "must_change_password",
        "failed_login_count",
        "locked_at",
        "password_changed_at",
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
        "locked_at",
        "last_login_at",
    )
    column_labels = {
        "must_change_password": _l("Must change password"),
        "failed_login_count": _l("Failed logins in a row"),
        "locked_at": _l("Locked since"),
        "password_changed_at": _l("Password changed"),
    }
    column_default_sort = ("username", False)
    column_searchable_list = ("username", "full_name")
    column_filters = [
        FilterEqual(User.role, _l("Role"), options=c.ROLES),
        BooleanEqualFilter(User.is_active, _l("Active")),
    ]
    allow_delete = False  # deactivate instead: records keep who created them

    def get_create_form(self):
        return UserCreateForm

    def get_edit_form(self):
        return UserEditForm

    def eager(self, query):
        return query.options(selectinload(User.area), selectinload(User.organisation))

    def on_model_change(self, form, model, is_created):
        form.apply_password(model)
        super().on_model_change(form, model, is_created)
