"""Builds the admin panel and registers every view, in one list."""

from pathlib import Path

from flask import abort, redirect, request, session, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import access
from app.access import Permission
from app.admin.chrome import cached_menu, static_url
from app.admin.gate import GatedView, requires
from app.extensions import db
from app.models import (
    Area,
    Assessment,
    AuditEvent,
    CaseTransition,
    HardshipCategory,
    Household,
    LedgerEntry,
    Member,
    Need,
    NeedMatch,
    Organisation,
    PlanMonth,
    Pledge,
    Project,
    Resource,
    ServiceRecord,
    SupportPlan,
    User,
)
from app.models.choices import ROLES, label
from app.urls import safe_redirect_target
from app.validation import format_yuan, parse_id


class LandingView(GatedView, AdminIndexView):
    """The page after login: the user's scope and the counts that matter to them."""

    @expose("/")
    @requires(Permission.SEE_LANDING)
    def index(self):
        from app.services.overview import landing_counts

        scope = access.scope_of(current_user)
        street = db.session.get(Area, scope.street_id) if scope.street_id else None
        return self.render(
            "admin/landing.html",
            counts=landing_counts(current_user),
            role_label=label(ROLES, current_user.role),
            scope_area=current_user.area,
            selected_street=street if scope.is_district_wide else None,
        )

    @expose("/street/", methods=("POST",))
    @requires(Permission.SWITCH_STREET)
    def choose_street(self):
        """The street switcher of district-wide users; an empty value clears it."""
        raw = request.form.get("street_id", "")
        if raw == "":
            session.pop("street_id", None)
        else:
            pk = parse_id(raw)
            street = db.session.get(Area, pk) if pk is not None else None
            if street is None or street.level != "street":
                abort(404)
            session["street_id"] = street.id
        target = safe_redirect_target(request.form.get("next"), url_for(".index"))
        return redirect(_list_of(target))


def _list_of(path: str) -> str:
    """The list (or index) page of the view that serves ``path``: after the street
    changes, a record's page may lie outside it, and its id is not in ``path``."""
    from flask import current_app
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import BuildError

    try:
        endpoint, _args = current_app.url_map.bind("").match(path.split("?")[0])
    except HTTPException:
        return url_for("admin.index")
    blueprint = endpoint.partition(".")[0]
    for name in ("index_view", "index"):
        try:
            return url_for(f"{blueprint}.{name}")
        except BuildError:
            continue
    return url_for("admin.index")


def init_admin(app) -> Admin:
    from app.admin.views.audit import AuditLogView
    from app.admin.views.casework import AssessmentView, CaseTransitionView, TodoView
    from app.admin.views.dashboard import DashboardView
    from app.admin.views.fund import FundOverviewView, LedgerView, PlanMonthView, SupportPlanView
    from app.admin.views.households import HouseholdView, MemberView, NeedView
    from app.admin.views.imports import ImportView
    from app.admin.views.matching import NeedMatchView, UnmatchedNeedsView
    from app.admin.views.pledges import PledgeView, SponsorImpactView, SponsorPledgeView
    from app.admin.views.projects import ProjectView, SponsorProjectView
    from app.admin.views.reference import AreaView, HardshipCategoryView, UserView
    from app.admin.views.reports import ReportView
    from app.admin.views.resources import OrganisationView, ResourceView
    from app.admin.views.service_records import ServiceRecordView
    from app.csp import csp_nonce

    admin = Admin(
        app,
        name=_l("Yijia"),
        theme=Bootstrap4Theme(base_template="yijia_master.html", swatch="default"),
        index_view=LandingView(name=_l("Home"), url="/admin"),
        csp_nonce_generator=csp_nonce,  # every <script> of Flask-Admin's templates
        # our admin.po: Flask-Admin's messages that its own zh_Hans_CN catalog lacks
        translations_path=str(Path(app.root_path) / "translations"),
    )
    records, projects, settings = _l("Records"), _l("Projects"), _l("Settings")
    fund = _l("Special fund")
    views = [
        TodoView(name=_l("To-do"), endpoint="todo", url="/admin/todo"),
        DashboardView(name=_l("Dashboard"), endpoint="dashboard", url="/admin/dashboard"),
        ReportView(name=_l("Monthly reports"), endpoint="reports", url="/admin/reports"),
        HouseholdView(Household, name=_l("Households"), category=records, endpoint="household"),
        MemberView(Member, name=_l("Household members"), category=records, endpoint="member"),
        NeedView(Need, name=_l("Needs"), category=records, endpoint="need"),
        AssessmentView(
            Assessment, name=_l("Home-visit assessments"), category=records, endpoint="assessment"
        ),
        CaseTransitionView(
            CaseTransition,
            name=_l("Case status history"),
            category=records,
            endpoint="case_transition",
        ),
        ResourceView(Resource, name=_l("Resources"), category=records, endpoint="resource"),
        OrganisationView(
            Organisation, name=_l("Organisations"), category=records, endpoint="organisation"
        ),
        NeedMatchView(NeedMatch, name=_l("Matches"), category=records, endpoint="need_match"),
        ServiceRecordView(
            ServiceRecord, name=_l("Service records"), category=records, endpoint="service_record"
        ),
        UnmatchedNeedsView(
            name=_l("Unmatched needs"),
            category=records,
            endpoint="unmatched_needs",
            url="/admin/unmatched-needs",
        ),
        ProjectView(Project, name=_l("Projects"), category=projects, endpoint="project"),
        SponsorProjectView(
            Project,
            name=_l("Sponsorable projects"),
            endpoint="sponsor_project",
            url="/admin/sponsor/projects",
        ),
        PledgeView(Pledge, name=_l("Pledges"), category=projects, endpoint="pledge"),
        SponsorPledgeView(
            Pledge, name=_l("My pledges"), endpoint="sponsor_pledge", url="/admin/sponsor/pledges"
        ),
        SponsorImpactView(
            name=_l("Our support"), endpoint="sponsor_impact", url="/admin/sponsor/impact"
        ),
        FundOverviewView(
            name=_l("Fund overview"), category=fund, endpoint="fund", url="/admin/fund"
        ),
        LedgerView(LedgerEntry, name=_l("Ledger"), category=fund, endpoint="ledger"),
        SupportPlanView(
            SupportPlan, name=_l("Support plans"), category=fund, endpoint="support_plan"
        ),
        PlanMonthView(
            PlanMonth, name=_l("Support-plan months"), category=fund, endpoint="plan_month"
        ),
        AreaView(Area, name=_l("Areas"), category=settings, endpoint="area"),
        HardshipCategoryView(
            HardshipCategory,
            name=_l("Hardship categories"),
            category=settings,
            endpoint="hardship_category",
        ),
        UserView(User, name=_l("Users"), category=settings, endpoint="user"),
        AuditLogView(AuditEvent, name=_l("Audit log"), category=settings, endpoint="audit"),
        ImportView(name=_l("Import"), endpoint="imports", url="/admin/import"),
    ]
    for view in views:
        view.check_declarations()  # a route without a permission stops the start-up
        admin.add_view(view)
    admin.index_view.check_declarations()

    # every amount in every template: {{ amount|yuan }} → ¥38,900.00
    app.add_template_filter(format_yuan, "yuan")
    # the top menu, kept per kind of user and page (app/admin/chrome.py)
    app.jinja_env.globals["cached_menu"] = cached_menu
    app.jinja_env.globals["static_url"] = static_url

    @app.context_processor
    def locale_helpers():
        from flask_babel import get_locale

        return {"get_locale": get_locale}

    @app.context_processor
    def chrome():
        """Top-bar data: street switcher choices and languages."""
        if not current_user.is_authenticated:
            return {}
        return {
            "street_choices": access.street_choices(current_user),
            "selected_street_id": access.selected_street_id(),
            "languages": app.config["LANGUAGES"],
        }

    return admin
