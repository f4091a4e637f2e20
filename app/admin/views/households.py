"""Households, their members and their needs."""

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.fields import InlineModelFormList, get_field_id, get_obj_pk
from flask_admin.contrib.sqla.filters import DateBetweenFilter, FilterEqual
from flask_admin.contrib.sqla.form import InlineModelConverter
from flask_admin.model.form import InlineFormAdmin
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import and_
from sqlalchemy.orm import joinedload, selectinload
from wtforms import StringField
from wtforms.utils import unset_value
from wtforms.validators import DataRequired

from app import access
from app.access import Permission
from app.admin import validators
from app.admin.base import ScopedModelView
from app.admin.filters import area_filters
from app.admin.gate import Row, requires
from app.admin.labels import COMMON_LABELS
from app.extensions import db
from app.models import Household, Member, Need
from app.models import choices as c
from app.services import archive, casework, people
from app.services.transaction import committed
from app.urls import safe_redirect_target
from app.validation import InvalidValue, normalize_id_number


def _choice(choices):
    return lambda _v, _c, model, name: c.label(choices, getattr(model, name))


#: the household edit form's field for why ticked member rows are removed
REMOVAL_REASON = "member_removal_reason"


class _NotSaved(StringField):
    """A form field that is read by the view, not saved onto the record."""

    def populate_obj(self, obj, name):
        return None


class MemberRows(InlineModelFormList):
    """The household form's member rows. Archived members are not offered (they are
    not edited); a row ticked for deletion goes through ``archive.remove_member`` —
    deleted only as a mistake by those allowed, otherwise archived with the reason
    typed under the rows, or refused saying so — never deleted behind the rule."""

    def process(self, formdata, data=unset_value, extra_filters=None):
        if isinstance(data, list | tuple):
            data = [m for m in data if not m.is_archived]
        return super().process(formdata, data, extra_filters)

    def populate_obj(self, obj, name):
        values = getattr(obj, name, None)
        if values is None:
            return
        by_pk = {get_obj_pk(v, self._pk): v for v in values}
        removed = []
        for field in self.entries:
            model = by_pk.get(get_field_id(field))
            is_created = model is None
            if is_created:
                model = self.model()
                values.append(model)
            elif model.is_archived:
                raise InvalidValue(
                    _l(
                        "This record is archived and is not changed; the district admin can "
                        "restore it."
                    )
                )
            elif self.should_delete(field):
                reason = request.form.get(REMOVAL_REASON)
                removed.append((model.name, archive.remove_member(model, current_user, reason)))
                continue
            field.populate_obj(model, None)
            self.inline_view._on_model_change(field, model, is_created)
        g.removed_members = removed


class MemberRowsConverter(InlineModelConverter):
    inline_field_list_type = MemberRows


class MemberInline(InlineFormAdmin):
    form_columns = (
        "id",
        "name",
        "relation",
        "id_number",
        "health",
        "disability_type",
        "disability_grade",
        "employment",
    )
    form_choices = {
        "relation": c.RELATIONS,
        "disability_type": c.DISABILITY_TYPES,
        "employment": c.EMPLOYMENT_STATUSES,
        "disability_grade": c.DISABILITY_GRADES,
    }
    form_args = {
        "id_number": {"validators": [validators.id_number]},
        "disability_grade": {"coerce": lambda v: int(v) if v else None},
    }
    column_labels = {
        **{name: COMMON_LABELS[name] for name in form_columns if name != "id"},
        "name": _l("Full name"),  # a person's 姓名, not a thing's 名称
    }


class HouseholdView(ScopedModelView):
    """Households in hardship: the heart of the records."""

    personal_columns = {
        "head_id_number": "id",
        "head_phone": "phone",
        "monthly_income": "hidden",
        "existing_support": "hidden",
    }
    money_columns = ("monthly_income",)
    choices = {
        "status": c.HOUSEHOLD_STATUSES,
        "intake_channel": c.INTAKE_CHANNELS,
        "disability_type": c.DISABILITY_TYPES,
        "disability_grade": c.DISABILITY_GRADES,
        "head_gender": c.GENDERS,
    }
    column_list = (
        "id",
        "head_name",
        "head_id_number",
        "head_phone",
        "community",
        "categories",
        "status",
        "intake_channel",
        "intake_date",
        "assigned_worker",
    )
    column_details_list = (
        "id",
        "head_name",
        "head_id_number",
        "head_gender",
        "head_birth_date",
        "head_phone",
        "address",
        "street",
        "community",
        "categories",
        "disability_type",
        "disability_grade",
        "monthly_income",
        "existing_support",
        "intake_channel",
        "intake_date",
        "referrer_organisation",
        "referrer_person",
        "assigned_worker",
        "status",
        "members",
        "needs",
        "notes",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    )
    column_export_list = (
        "id",
        "head_name",
        "head_id_number",
        "head_phone",
        "street",
        "community",
        "categories",
        "status",
        "intake_channel",
        "intake_date",
        "address",
    )
    column_default_sort = ("id", True)
    column_sortable_list = ("id", "head_name", "status", "intake_date")
    column_searchable_list = ("head_name", "address")
    form_columns = (
        "head_name",
        "head_id_number",
        "head_phone",
        "community",
        "address",
        "categories",
        "disability_type",
        "disability_grade",
        "monthly_income",
        "existing_support",
        "intake_channel",
        "intake_date",
        "referrer_organisation",
        "referrer_person",
        "assigned_worker",
        "notes",
    )
    form_args = {
        "head_id_number": {"validators": [validators.id_number, validators.unique_head_id_number]},
        "head_phone": {"validators": [validators.phone]},
        "community": {"validators": [DataRequired()]},
        "monthly_income": {"validators": [validators.money]},
        "intake_date": {"validators": [validators.not_future]},
        # staff of the user's own area only (users are otherwise admin-only rows)
        "assigned_worker": {"query_factory": lambda: access.assignable_workers(current_user)},
    }
    column_labels = {
        "referrer_organisation": _l("Referred by (organisation)"),
        "referrer_person": _l("Referred by (person)"),
    }
    column_descriptions = {
        "referrer_organisation": _l(
            "Required for referrals by a government department, hospital, enterprise "
            "or institution, or a resident: the organisation or the person."
        ),
    }
    inline_models = (MemberInline(Member),)
    inline_model_form_converter = MemberRowsConverter
    list_template = "admin/household_list.html"
    details_template = "admin/household_details.html"
    column_extra_row_actions = [
        EndpointLinkRowAction("fa fa-book", ".story_view", title=_l("Case story"))
    ]

    @property
    def column_filters(self):
        return area_filters(Household) + [
            FilterEqual(Household.status, _l("Status"), options=c.HOUSEHOLD_STATUSES),
            FilterEqual(Household.intake_channel, _l("Intake channel"), options=c.INTAKE_CHANNELS),
            DateBetweenFilter(Household.intake_date, _l("Intake date")),
        ]

    def eager(self, query):
        return query.options(
            # street and community print from the kept area tree (ScopedModelView)
            selectinload(Household.categories),
            joinedload(Household.assigned_worker),
        )

    def list_eager(self, query):
        # a list page's 20 rows bring their categories (one or two each) in their own
        # statement: a round trip fewer than the selectin load, which exports keep
        # (a joined collection cannot stream in batches)
        return query.options(
            joinedload(Household.categories), joinedload(Household.assigned_worker)
        )

    def household_of(self, model):
        return model

    def _apply_search(self, query, count_query, joins, count_joins, search):
        """Each word typed must match (``services.people.household_search``): a full ID
        number or mobile by equality, else a piece of the name or address, from the
        indexes that make it fast at a million households."""
        criterion = and_(*[people.household_search(term) for term in search.split()[:5]])
        query = query.filter(criterion)
        if count_query is not None:
            count_query = count_query.filter(criterion)
        return query, count_query, joins, count_joins

    def _format_members(self, _context, model, _name):
        """Each member with their ID number masked like the head's, and a 显示 that
        goes through the member's reveal route (which decides and records it)."""
        parts = []
        for m in model.members:
            part = Markup("{}（{}）").format(m.name, c.label(c.RELATIONS, m.relation))
            if m.id_number:
                number = self.reveal_control(m, "id_number", endpoint="member")
                part += Markup(' <span class="yj-member-id">{}</span>').format(number)
            if m.is_archived:
                part += Markup(' <span class="badge badge-secondary">{}</span>').format(
                    _("Archived")
                )
            parts.append(part)
        return Markup("<br>").join(parts)

    def _format_needs(self, _context, model, _name):
        return Markup(
            "<br>".join(
                f"{escape(c.label(c.NEED_DIMENSIONS, n.dimension))} · "
                f"{escape(c.label(c.NEED_STATUSES, n.status))} · {escape(n.description[:40])}"
                for n in model.needs
            )
        )

    def __init__(self, *args, **kwargs):
        self.column_formatters_detail = {
            "members": HouseholdView._format_members,
            "needs": HouseholdView._format_needs,
        }
        super().__init__(*args, **kwargs)

    def on_model_change(self, form, model, is_created):
        casework.check_intake(model)  # the model checks again on save; this says it early
        super().on_model_change(form, model, is_created)

    def get_edit_form(self):
        """The edit form, with a line under the member rows for why ticked ones are
        removed (``MemberRows``)."""

        class HouseholdEditForm(super().get_edit_form()):
            member_removal_reason = _NotSaved(
                _l("Why members are removed"),
                description=_l(
                    "To remove a member, tick their row's delete box and write why here: "
                    "a member who is part of the household's history is archived, not "
                    "deleted."
                ),
            )

        return HouseholdEditForm

    def after_model_change(self, form, model, is_created):
        for name, outcome in g.pop("removed_members", []):
            if outcome == "archived":
                flash(_("%(name)s was archived, not deleted.", name=name), "info")
        super().after_model_change(form, model, is_created)

    def render(self, template, **kwargs):
        # the details page shows the case status, its next steps and the latest visit
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs["case"] = casework.case_panel(kwargs["model"], current_user)
        kwargs.update(label=c.label, ch=c, format_change=casework.format_change)
        return super().render(template, **kwargs)

    @expose("/story/")
    @requires(Permission.READ, Row())
    def story_view(self):
        """The household's story: intake, status history, visits, needs and what met
        them, services delivered with their evidence, support plans, projects."""
        story = casework.household_story(self.row().id, current_user)
        if story is None:
            abort(404)
        return self.render(
            "admin/household_story.html",
            story=story,
            case=casework.case_panel(story.household, current_user),
            return_url=url_for(".index_view"),
        )

    @expose("/status/", methods=("POST",))
    @requires(Permission.CHANGE_CASE_STATUS, Row(write=True))
    def change_status(self):
        """Move the case to another status (one of those the details page offers)."""
        household = self.row()
        try:
            with committed():
                casework.transition_case(
                    household,
                    request.form.get("to_status", ""),
                    user=current_user,
                    note=request.form.get("note", ""),
                )
            flash(
                _(
                    "Case status is now: %(status)s.",
                    status=casework.status_label(household.status),
                ),
                "success",
            )
        except InvalidValue as exc:
            flash(str(exc), "error")
        return redirect(
            safe_redirect_target(
                request.form.get("next"), url_for(".details_view", id=household.id)
            )
        )

    @expose("/find/", methods=("POST",))
    @requires(Permission.FIND_BY_ID_NUMBER)
    def find_by_id_number(self):
        """Exact-match search by a full resident ID number (head or member). POST, so
        the number never appears in a URL or an access log."""
        try:
            number = normalize_id_number(request.form.get("id_number", ""))
        except InvalidValue as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index_view"))
        stmt = access.visible(Household, current_user).where(
            Household.id.in_(people.households_with_id_number(number))
        )
        household = db.session.scalars(stmt.limit(1)).first()
        if household is None:
            flash(_("No household within your area has this ID number."), "warning")
            return redirect(url_for(".index_view"))
        return redirect(url_for(".details_view", id=household.id))


class MemberView(ScopedModelView):
    personal_columns = {"id_number": "id", "health": "hidden"}
    column_labels = {"name": _l("Full name")}  # a person's 姓名, not a thing's 名称
    choices = {
        "relation": c.RELATIONS,
        "gender": c.GENDERS,
        "employment": c.EMPLOYMENT_STATUSES,
        "disability_type": c.DISABILITY_TYPES,
        "disability_grade": c.DISABILITY_GRADES,
    }
    column_list = (
        "id",
        "name",
        "household",
        "relation",
        "id_number",
        "gender",
        "employment",
        "community",
    )
    column_details_list = (
        "id",
        "name",
        "household",
        "relation",
        "id_number",
        "gender",
        "birth_date",
        "health",
        "disability_type",
        "disability_grade",
        "employment",
        "street",
        "community",
        "created_at",
        "updated_at",
    )
    column_export_list = (
        "id",
        "name",
        "household",
        "relation",
        "id_number",
        "gender",
        "employment",
        "street",
        "community",
    )
    column_default_sort = ("id", True)
    column_searchable_list = ("name",)
    form_columns = (
        "household",
        "name",
        "relation",
        "id_number",
        "health",
        "disability_type",
        "disability_grade",
        "employment",
    )
    form_args = {
        "id_number": {"validators": [validators.id_number, validators.unique_member_id_number]}
    }
    form_ajax_refs = {"household": {"fields": ("head_name",), "placeholder": _l("Type a name")}}

    @property
    def column_filters(self):
        return area_filters(Member) + [
            FilterEqual(Member.relation, _l("Relation to head"), options=c.RELATIONS),
            FilterEqual(Member.employment, _l("Employment"), options=c.EMPLOYMENT_STATUSES),
        ]

    def eager(self, query):
        return query.options(
            # the household prints its community from the kept area tree, and so do
            # the street and community columns (ScopedModelView)
            joinedload(Member.household),
        )


class NeedView(ScopedModelView):
    choices = {
        "dimension": c.NEED_DIMENSIONS,
        "category": c.NEED_CATEGORIES,
        "urgency": c.URGENCIES,
        "status": c.NEED_STATUSES,
    }
    column_list = (
        "id",
        "household",
        "dimension",
        "category",
        "description",
        "urgency",
        "status",
        "identified_on",
        "community",
    )
    column_details_list = (
        "id",
        "household",
        "dimension",
        "category",
        "description",
        "urgency",
        "status",
        "identified_on",
        "resolved_on",
        "street",
        "community",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    )
    column_export_list = (
        "id",
        "household",
        "dimension",
        "category",
        "description",
        "urgency",
        "status",
        "identified_on",
        "resolved_on",
        "street",
        "community",
    )
    column_default_sort = ("identified_on", True)
    column_sortable_list = ("id", "dimension", "urgency", "status", "identified_on")
    column_searchable_list = ("description",)
    column_editable_list = ("status",)
    form_columns = (
        "household",
        "dimension",
        "category",
        "description",
        "urgency",
        "status",
        "identified_on",
        "resolved_on",
    )
    form_args = {
        "identified_on": {"validators": [validators.not_future]},
        "resolved_on": {"validators": [validators.not_future]},
    }
    form_ajax_refs = {"household": {"fields": ("head_name",), "placeholder": _l("Type a name")}}
    #: adds the "match resources" button (app/admin/views/matching.py)
    details_template = "admin/need_details.html"

    @property
    def column_filters(self):
        return area_filters(Need) + [
            FilterEqual(Need.dimension, _l("Dimension"), options=c.NEED_DIMENSIONS),
            FilterEqual(Need.category, _l("Category"), options=c.NEED_CATEGORIES),
            FilterEqual(Need.status, _l("Status"), options=c.NEED_STATUSES),
            FilterEqual(Need.urgency, _l("Urgency"), options=c.URGENCIES),
        ]

    def eager(self, query):
        return query.options(
            # the household prints its community from the kept area tree, and so do
            # the street and community columns (ScopedModelView)
            joinedload(Need.household),
        )
