"""Casework rules: who referred a household, how its case status moves, and the
home-visit assessments that move it.

Admin views, the CLI, demo data and tests all go through these functions, and the
``Household`` checks its referrer and its status change on every save (the rules live
on the model), so neither can be side-stepped by a form that forgot it.

- A household that came through a referral channel names who referred it.
- A case's status moves only along ``CASE_TRANSITIONS``, and every move is recorded
  as a ``CaseTransition`` (who, when, from, to, why). Closing and reopening need a note.
- Recording a home visit of a ``registered`` household moves it to ``assessed``.

``transition_case`` and ``record_assessment`` flush; the caller commits (the household
route, the assessment form, the CLI), so that one can call the other inside a single
transaction, as ``app/services/transaction.py`` describes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select

from app import access
from app.extensions import db
from app.models import Assessment, CaseTransition, Household, Need, User
from app.models import choices as c
from app.models.base import utcnow
from app.models.casework import SEVERITY_COLUMNS
from app.validation import InvalidValue, check_not_future

#: intake channels that name who referred the household (the rule lives on the model)
REFERRAL_CHANNELS = c.REFERRAL_CHANNELS
#: moves that need a note saying why
NOTE_REQUIRED_TO = ("closed",)
NOTE_REQUIRED_FROM = ("closed",)
ALLOWED_MOVES = frozenset(c.CASE_TRANSITIONS)


# ------------------------------------------------------------------- intake
# ------------------------------------------------------------------- intake
def check_intake(household: Household) -> None:
    """Say early, in a form, what the model says again on save."""
    household.check_intake()


# --------------------------------------------------------------- case status
def status_label(value: str | None) -> str:
    return c.label(c.HOUSEHOLD_STATUSES, value)


def next_statuses(household: Household) -> list[str]:
    """Statuses the case may move to from where it stands, in the usual order."""
    return [to for frm, to in c.CASE_TRANSITIONS if frm == household.status]


def case_started_on(household: Household) -> dt.date:
    """The intake date, or the day the case was last reopened."""
    reopened = db.session.scalar(
        select(CaseTransition.occurred_at)
        .where(
            CaseTransition.household_id == household.id,
            CaseTransition.to_status == "registered",
        )
        .order_by(CaseTransition.occurred_at.desc())
        .limit(1)
    )
    if reopened is not None and reopened.date() > household.intake_date:
        return reopened.date()
    return household.intake_date


def _has_assessment_since(household: Household, since: dt.date) -> bool:
    if household.id is None:
        return False
    stmt = select(Assessment.id).where(
        Assessment.household_id == household.id, Assessment.visit_date >= since
    )
    return db.session.scalar(stmt.limit(1)) is not None


def transition_case(
    household: Household,
    to_status: str,
    *,
    user: User,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> CaseTransition:
    """Move the case to ``to_status`` and record who, when and why.

    Refuses (``InvalidValue``, nothing changed) a move not in ``CASE_TRANSITIONS``, a
    user who may not change this household, closing or reopening without a note, and
    "assessed" without a home visit since the case was opened.
    Flushes; the caller commits.
    """
    from_status = household.status
    if to_status not in c.values(c.HOUSEHOLD_STATUSES):
        raise InvalidValue(_l("Unknown case status."))
    if (from_status, to_status) not in ALLOWED_MOVES:
        raise InvalidValue(
            _l(
                "A case cannot move from %(from_status)s to %(to_status)s.",
                from_status=status_label(from_status),
                to_status=status_label(to_status),
            )
        )
    if user is None or not access.can_write_row(household, user):
        raise InvalidValue(_l("You can only change cases within your own area."))
    note = (note or "").strip() or None
    if note is None and (to_status in NOTE_REQUIRED_TO or from_status in NOTE_REQUIRED_FROM):
        if from_status == "closed":
            raise InvalidValue(_l("Say why the case is reopened."))
        raise InvalidValue(_l("Say why the case is closed."))
    if to_status == "assessed" and not _has_assessment_since(household, case_started_on(household)):
        raise InvalidValue(
            _l("Record the home-visit assessment first; it marks the case as assessed.")
        )
    transition = CaseTransition(
        household=household,
        from_status=from_status,
        to_status=to_status,
        note=note,
        occurred_at=now or utcnow(),
        actor=user,
    )
    db.session.add(transition)
    household.status = to_status
    db.session.flush()
    return transition


# --------------------------------------------------------------- assessments
@dataclass
class NeedSpec:
    """A need noted on a home visit."""

    dimension: str
    category: str
    description: str
    urgency: str = "normal"


def _need_from(spec) -> NeedSpec:
    if isinstance(spec, NeedSpec):
        return spec
    if isinstance(spec, Mapping):
        return NeedSpec(
            dimension=spec.get("dimension") or "",
            category=spec.get("category") or "",
            description=spec.get("description") or "",
            urgency=spec.get("urgency") or "normal",
        )
    raise TypeError("a need is a NeedSpec or a mapping")


def _check_need(spec: NeedSpec) -> None:
    if spec.dimension not in c.values(c.NEED_DIMENSIONS):
        raise InvalidValue(_l("Choose the dimension of each need."))
    if spec.category not in c.values(c.NEED_CATEGORIES):
        raise InvalidValue(_l("Choose the category of each need."))
    if spec.urgency not in c.values(c.URGENCIES):
        raise InvalidValue(_l("Choose the urgency of each need."))
    if not spec.description.strip():
        raise InvalidValue(_l("Describe each need."))


def check_severities(severities: Mapping[str, int]) -> dict[str, int]:
    """dimension → severity 1–5 for all five dimensions, or ``InvalidValue``."""
    result = {}
    for value, label in c.NEED_DIMENSIONS:
        raw = severities.get(value)
        try:
            number = int(raw)
        except (TypeError, ValueError):
            number = None
        if number is None or not 1 <= number <= 5:
            raise InvalidValue(
                _l("Give a severity from 1 to 5 for %(dimension)s.", dimension=label)
            )
        result[value] = number
    return result


def record_assessment(
    household: Household,
    *,
    user: User,
    visit_date: dt.date,
    findings: str,
    severities: Mapping[str, int],
    visiting_worker: User | None = None,
    living_conditions: str | None = None,
    benefits_found: str | None = None,
    needs: Iterable = (),
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Assessment:
    """Record a home visit, the needs found on it, and, for a ``registered`` case,
    the move to ``assessed``. All or nothing: flushes, the caller commits (or rolls
    back on ``InvalidValue``)."""
    if household is None:
        raise InvalidValue(_l("Choose the household visited."))
    if not access.can_write_row(household, user):
        raise InvalidValue(_l("You can only record visits to households within your own area."))
    if visit_date is None:
        raise InvalidValue(_l("Enter the date of the visit."))
    check_not_future(visit_date, today)
    Assessment.check_visit_after_intake(household, visit_date)
    if not (findings or "").strip():
        raise InvalidValue(_l("Write down what the visit found."))
    if visiting_worker is not None:
        allowed = access.assignable_workers(user).filter(User.id == visiting_worker.id)
        if allowed.first() is None:
            raise InvalidValue(_l("The visiting worker must work in your area."))
    levels = check_severities(severities)
    specs = [_need_from(s) for s in needs]
    for spec in specs:
        _check_need(spec)

    assessment = Assessment(
        household=household,
        visit_date=visit_date,
        visiting_worker=visiting_worker,
        findings=findings.strip(),
        living_conditions=(living_conditions or "").strip() or None,
        benefits_found=(benefits_found or "").strip() or None,
        **{f"severity_{k}": v for k, v in levels.items()},
    )
    db.session.add(assessment)
    for spec in specs:
        need = Need(
            household=household,
            assessment=assessment,
            dimension=spec.dimension,
            category=spec.category,
            description=spec.description.strip(),
            urgency=spec.urgency,
            status="open",
            identified_on=visit_date,
        )
        db.session.add(need)
    db.session.flush()
    if household.status == "registered":
        transition_case(
            household,
            "assessed",
            user=user,
            note=str(_l("Home visit on %(date)s", date=visit_date.isoformat())),
            now=now,
        )
    return assessment


@dataclass
class AssessmentChange:
    """The latest assessment and how each dimension moved since the one before."""

    latest: Assessment
    previous: Assessment | None
    #: (dimension value, label, severity, change since previous or None)
    rows: list[tuple[str, str, int, int | None]]


def assessment_change(assessments: list[Assessment]) -> AssessmentChange | None:
    """From a household's assessments (any order), the latest and its change."""
    if not assessments:
        return None
    ordered = sorted(assessments, key=lambda a: (a.visit_date, a.id or 0))
    latest = ordered[-1]
    previous = ordered[-2] if len(ordered) > 1 else None
    rows = []
    for value, label in c.NEED_DIMENSIONS:
        now_level = getattr(latest, f"severity_{value}")
        before = getattr(previous, f"severity_{value}") if previous is not None else None
        rows.append((value, str(label), now_level, None if before is None else now_level - before))
    return AssessmentChange(latest, previous, rows)


def format_change(delta: int | None) -> str:
    """+1 → "(↑1)", -2 → "(↓2)", 0 → "(=)", None → ""."""
    if delta is None:
        return ""
    if delta == 0:
        return "(=)"
    return f"({'↑' if delta > 0 else '↓'}{abs(delta)})"


__all__ = [
    "REFERRAL_CHANNELS",
    "SEVERITY_COLUMNS",
    "AssessmentChange",
    "NeedSpec",
    "assessment_change",
    "case_started_on",
    "check_intake",
    "format_change",
    "next_statuses",
    "record_assessment",
    "transition_case",
]


# ------------------------------------------------------------- pages
@dataclass
class CasePanel:
    """What the household pages show about the case: its status, the moves the user
    may make now, and the latest visit with its change."""

    household: Household
    status_label: str
    can_change: bool
    #: (to status, label, needs a note)
    moves: list[tuple[str, str, bool]]
    change: AssessmentChange | None
    can_record_visit: bool


def case_panel(household: Household, user) -> CasePanel:
    latest_two = db.session.scalars(
        select(Assessment)
        .where(Assessment.household_id == household.id)
        .order_by(Assessment.visit_date.desc(), Assessment.id.desc())
        .limit(2)
    ).all()
    can_change = access.can_write_row(household, user)
    moves = [
        (
            to,
            status_label(to),
            to in NOTE_REQUIRED_TO or household.status in NOTE_REQUIRED_FROM,
        )
        for to in next_statuses(household)
        if to != "assessed"  # reached by recording the visit
    ]
    return CasePanel(
        household=household,
        status_label=status_label(household.status),
        can_change=can_change,
        moves=moves if can_change else [],
        change=assessment_change(list(latest_two)),
        can_record_visit=can_change and household.status != "closed",
    )


@dataclass
class HouseholdStory:
    household: Household
    can_reveal: bool
    change: AssessmentChange | None
    projects: list
    intake_channel_label: str
    is_referral: bool


def household_story(household_id: int, user) -> HouseholdStory | None:
    """Everything the story page shows, loaded in a fixed number of queries, inside
    the user's scope (None when out of it)."""
    from sqlalchemy.orm import selectinload

    from app.models import NeedMatch, Project, ServiceRecord, SupportPlan, project_beneficiaries

    stmt = (
        access.visible(Household, user)
        .where(Household.id == household_id)
        .options(
            selectinload(Household.community),
            selectinload(Household.street),
            selectinload(Household.categories),
            selectinload(Household.assigned_worker),
            selectinload(Household.referrer_organisation),
            selectinload(Household.transitions).selectinload(CaseTransition.actor),
            selectinload(Household.members),
            selectinload(Household.assessments).selectinload(Assessment.visiting_worker),
            selectinload(Household.needs)
            .selectinload(Need.matches)
            .selectinload(NeedMatch.resource),
            selectinload(Household.service_records).options(
                selectinload(ServiceRecord.files),
                selectinload(ServiceRecord.resource),
                selectinload(ServiceRecord.provider_organisation),
                selectinload(ServiceRecord.project),
                selectinload(ServiceRecord.needs),
            ),
            selectinload(Household.support_plans).options(
                selectinload(SupportPlan.months),
                selectinload(SupportPlan.payee_organisation),
                selectinload(SupportPlan.project),
            ),
        )
    )
    household = db.session.scalars(stmt).first()
    if household is None:
        return None
    listed = select(project_beneficiaries.c.project_id).where(
        project_beneficiaries.c.household_id == household.id
    )
    projects = db.session.scalars(
        access.visible(Project, user)
        .where(
            or_(
                Project.id.in_(listed),
                and_(Project.level == "community", Project.community_id == household.community_id),
            )
        )
        .order_by(Project.level.desc(), Project.id)
    ).all()
    return HouseholdStory(
        household=household,
        can_reveal=access.can_reveal_personal_data(household, user),
        change=assessment_change(list(household.assessments)),
        projects=list(projects),
        intake_channel_label=c.label(c.INTAKE_CHANNELS, household.intake_channel),
        is_referral=household.intake_channel in REFERRAL_CHANNELS,
    )
