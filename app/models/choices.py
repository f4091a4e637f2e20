"""Fixed vocabularies: the value stored in the database and its label in the UI.

Values are short English words (stable, used in code and URLs); labels are lazy
strings translated by our catalog.  Editable vocabularies (hardship categories)
live in the database instead: see ``reference.py``.
"""

from flask_babel import lazy_gettext as _l

AREA_LEVELS = [
    ("district", _l("District")),
    ("street", _l("Street")),
    ("community", _l("Community")),
]

ORGANISATION_KINDS = [
    ("government", _l("Government department")),
    ("hospital", _l("Hospital")),
    ("enterprise", _l("Enterprise")),
    ("social_org", _l("Social organisation")),
    ("foundation", _l("Charity foundation")),
    ("social_work_centre", _l("Social-work centre")),
    ("volunteer_group", _l("Volunteer group")),
]
SPONSOR_ORGANISATION_KINDS = ("enterprise", "social_org")

GENDERS = [("male", _l("Male")), ("female", _l("Female"))]

INTAKE_CHANNELS = [
    ("government_referral", _l("Referral by a government department")),
    ("hospital_referral", _l("Referral by a hospital")),
    ("institution_referral", _l("Referral by an enterprise or institution")),
    ("self_request", _l("Household asked for help")),
    ("community_discovery", _l("Found by the community")),
    ("resident_referral", _l("Referred by a resident")),
]

HOUSEHOLD_STATUSES = [
    ("registered", _l("Registered")),
    ("assessed", _l("Assessed")),
    ("helping", _l("Being helped")),
    ("closed", _l("Closed")),
]

DISABILITY_TYPES = [
    ("visual", _l("Visual")),
    ("hearing", _l("Hearing")),
    ("speech", _l("Speech")),
    ("physical", _l("Physical")),
    ("intellectual", _l("Intellectual")),
    ("mental", _l("Mental")),
    ("multiple", _l("Multiple")),
]
DISABILITY_GRADES = [(1, _l("Grade 1")), (2, _l("Grade 2")), (3, _l("Grade 3")), (4, _l("Grade 4"))]

RELATIONS = [
    ("spouse", _l("Spouse")),
    ("child", _l("Child")),
    ("parent", _l("Parent")),
    ("grandchild", _l("Grandchild")),
    ("grandparent", _l("Grandparent")),
    ("sibling", _l("Sibling")),
    ("other", _l("Other relative")),
]

EMPLOYMENT_STATUSES = [
    ("employed", _l("Employed")),
    ("flexible", _l("Flexible or part-time work")),
    ("unemployed", _l("Unemployed")),
    ("retired", _l("Retired")),
    ("student", _l("Student")),
    ("unable", _l("Unable to work")),
    ("preschool", _l("Pre-school child")),
]

NEED_DIMENSIONS = [
    ("physiological", _l("Physiological / health")),
    ("psychological", _l("Psychological")),
    ("social", _l("Social")),
    ("daily_living", _l("Daily living")),
    ("employment", _l("Employment")),
]

NEED_CATEGORIES = [
    ("warm_pack", _l("Warm service pack")),
    ("medical", _l("Medical assistance")),
    ("counselling", _l("Case counselling")),
    ("nursing", _l("Health management and nursing")),
    ("employment_guidance", _l("Employment guidance")),
    ("meals", _l("Meal help")),
    ("home_repair", _l("Home repairs")),
    ("assistive_device", _l("Assistive device")),
    ("financial", _l("Financial help")),
    ("policy", _l("Policy help")),
    ("other", _l("Other")),
]

URGENCIES = [
    ("low", _l("Low")),
    ("normal", _l("Normal")),
    ("high", _l("High")),
    ("critical", _l("Critical")),
]

NEED_STATUSES = [
    ("open", _l("Open")),
    ("matched", _l("Matched")),
    ("in_progress", _l("In progress")),
    ("met", _l("Met")),
    ("withdrawn", _l("Withdrawn")),
]

RESOURCE_KINDS = [
    ("funds", _l("Funds")),
    ("material", _l("Material")),
    ("policy", _l("Policy")),
    ("medical", _l("Medical")),
    ("service", _l("Service")),
    ("employment", _l("Employment")),
]

RESOURCE_STATUSES = [
    ("available", _l("Available")),
    ("exhausted", _l("Used up")),
    ("withdrawn", _l("Withdrawn")),
]

PROJECT_LEVELS = [("community", _l("Community project")), ("household", _l("Household project"))]

HELP_KINDS = [
    ("material", _l("Material help")),
    ("policy", _l("Policy help")),
    ("medical", _l("Medical help")),
    ("service", _l("Service help")),
]

PROJECT_STATUSES = [
    ("draft", _l("Draft")),
    ("open", _l("Open for sponsorship")),
    ("claimed", _l("Claimed")),
    ("in_progress", _l("In progress")),
    ("completed", _l("Completed")),
    ("cancelled", _l("Cancelled")),
]

ROLES = [
    ("district_admin", _l("District administrator")),
    ("district_manager", _l("District manager")),
    ("street_clerk", _l("Street-office clerk")),
    ("community_worker", _l("Community worker")),
    ("sponsor", _l("Sponsor")),
]


def values(choices) -> list:
    return [value for value, _label in choices]


def label(choices, value) -> str:
    """The translated label of ``value``, or the value itself when unknown."""
    for v, text in choices:
        if v == value:
            return str(text)
    return "" if value is None else str(value)


def check_in(column: str, choices) -> str:
    """SQL for a CHECK constraint that keeps ``column`` within ``choices``."""
    quoted = ", ".join(f"'{v}'" for v in values(choices))
    return f"{column} IN ({quoted})"


# ---------------------------------------------------------------- casework
#: the moves a case may make (from, to); anything else is refused
#: intake channels that name who referred the household
REFERRAL_CHANNELS = (
    "government_referral",
    "hospital_referral",
    "institution_referral",
    "resident_referral",
)

CASE_TRANSITIONS = [
    ("registered", "assessed"),
    ("assessed", "helping"),
    ("registered", "closed"),
    ("assessed", "closed"),
    ("helping", "closed"),
    ("closed", "registered"),  # reopen: a new visit is due
]

SEVERITIES = [(i, str(i)) for i in range(1, 6)]

#: resource kinds that can meet a need of each category, best first
NEED_CATEGORY_RESOURCE_KINDS = {
    "warm_pack": ("material", "service"),
    "medical": ("medical", "funds"),
    "counselling": ("service",),
    "nursing": ("medical", "service"),
    "employment_guidance": ("employment", "service"),
    "meals": ("service", "material", "funds"),
    "home_repair": ("service", "material", "funds"),
    "assistive_device": ("material", "medical", "funds"),
    "financial": ("funds",),
    "policy": ("policy",),
    "other": ("service", "material", "funds", "policy", "medical", "employment"),
}

MATCH_STATUSES = [
    ("active", _l("Active")),
    ("released", _l("Released")),
]

EVIDENCE_KINDS = [
    ("photo", _l("Photo")),
    ("receipt", _l("Receipt")),
    ("agreement", _l("Agreement")),
    ("menu", _l("Menu list")),
    ("other", _l("Other document")),
]

# ------------------------------------------------------- sponsorship and fund
PLEDGE_KINDS = [("money", _l("Money")), ("in_kind", _l("In kind"))]

PLEDGE_STATUSES = [
    ("pending", _l("Awaiting approval")),
    ("approved", _l("Approved")),
    ("rejected", _l("Rejected")),
    ("withdrawn", _l("Withdrawn")),
]

LEDGER_ENTRY_TYPES = [
    ("donation", _l("Donation")),
    ("disbursement", _l("Disbursement")),
    ("reversal", _l("Reversal")),
]
LEDGER_DIRECTIONS = [("in", _l("Money in")), ("out", _l("Money out"))]

SUPPORT_PLAN_STATUSES = [
    ("active", _l("Active")),
    ("ended", _l("Ended")),
    ("cancelled", _l("Cancelled")),
]

PLAN_MONTH_STATUSES = [
    ("awaiting_evidence", _l("Awaiting evidence")),
    ("evidence_uploaded", _l("Evidence uploaded")),
    ("checked", _l("Evidence checked")),
    ("paid", _l("Paid")),
]
