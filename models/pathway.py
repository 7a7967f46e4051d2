"""The pathway's vocabulary: stages, routes, services, causes, the client reference and the pathway id,
and the policy of durations. Shared by the API, the workflow and the record.

Everything in `models/` crosses the Temporal boundary through the pydantic data converter or is stored
in the database, so it stays plain data (no clocks, no I/O). Adding a field with a default or an enum
value is safe for running pathways; renaming or removing one breaks the replay of saved histories.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

# --------------------------------------------------------------------------------------------------
# Vocabulary (English glossary of DOMAIN.md)
# --------------------------------------------------------------------------------------------------


class Stage(StrEnum):
    AWAITING_TRIAGE = "awaiting_triage"
    ASSESSMENT = "assessment"
    PLANNING = "planning"
    IN_SERVICES = "in_services"
    SUSTAINMENT = "sustainment"
    CLOSED = "closed"


OPEN_STAGES = frozenset(stage for stage in Stage if stage is not Stage.CLOSED)


class ReferralSource(StrEnum):
    SELF_REFERRAL = "self_referral"
    PROFESSIONAL_REFERRAL = "professional_referral"


class ReferringOrganisation(StrEnum):
    EMPLOYMENT_SERVICES = "employment_services"
    MULTI_SECTOR_JOINT_SERVICE = "multi_sector_joint_service"
    KELA = "kela"
    HEALTH_STATION = "health_station"
    SOCIAL_SERVICES = "social_services"
    MUNICIPAL_EMPLOYMENT_PILOT = "municipal_employment_pilot"
    OTHER = "other"


class Language(StrEnum):
    FI = "fi"
    SV = "sv"
    EN = "en"


class TriageRoute(StrEnum):
    HEALTH_CHECK = "health_check"
    EXTENDED_ASSESSMENT = "extended_assessment"
    NO_NEED = "no_need"


class AssessmentLevel(StrEnum):
    BASIC = "basic"
    SPECIALIST = "specialist"


class ServiceKind(StrEnum):
    VOCATIONAL_REHABILITATION = "vocational_rehabilitation"
    EMPLOYMENT_SERVICES = "employment_services"
    REHABILITATIVE_WORK_ACTIVITY = "rehabilitative_work_activity"
    MENTAL_HEALTH_SERVICES = "mental_health_services"
    SUBSTANCE_ABUSE_SERVICES = "substance_abuse_services"
    SOCIAL_WORK = "social_work"
    HEALTH_SERVICES = "health_services"
    MULTI_SECTOR_JOINT_SERVICE = "multi_sector_joint_service"
    STUDY_GUIDANCE = "study_guidance"
    OTHER = "other"


class ServiceStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


ENDED_SERVICE_STATUSES = frozenset({ServiceStatus.COMPLETED, ServiceStatus.INTERRUPTED, ServiceStatus.CANCELLED})


class ServiceStatusChange(StrEnum):
    """What staff can report about a planned service."""

    STARTED = "started"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


class ContactChannel(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    REMOTE = "remote"


class InvestigationStatus(StrEnum):
    ORDERED = "ordered"
    COMPLETED = "completed"


class TeamReviewCause(StrEnum):
    REQUESTED_BY_STAFF = "requested_by_staff"
    TRIAGE_OVERDUE = "triage_overdue"
    ASSESSMENT_OVERDUE = "assessment_overdue"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    SERVICE_GAP = "service_gap"
    SUSTAINMENT_UNCONFIRMED = "sustainment_unconfirmed"
    SOLUTION_DID_NOT_HOLD = "solution_did_not_hold"


class TeamReviewDecision(StrEnum):
    CONTINUE = "continue"
    REASSESS = "reassess"
    CHANGE_CASE_MANAGER = "change_case_manager"
    REVISE_PLAN = "revise_plan"
    CLOSE = "close"


class LongTermSolution(StrEnum):
    STUDIES = "studies"
    EMPLOYMENT = "employment"
    DISABILITY_PENSION = "disability_pension"
    OTHER = "other"


class ClosureReason(StrEnum):
    COMPLETED = "completed"
    CLIENT_DECLINED = "client_declined"
    MOVED_AWAY = "moved_away"
    NO_NEED = "no_need"
    OTHER = "other"


class DeadlineKind(StrEnum):
    TRIAGE_DUE = "triage_due"
    ASSESSMENT_DUE = "assessment_due"
    FOLLOW_UP_REMINDER = "follow_up_reminder"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    SERVICE_GAP_NOTICE = "service_gap_notice"
    SERVICE_GAP_ESCALATION = "service_gap_escalation"
    SUSTAINMENT_CHECK = "sustainment_check"
    SUSTAINMENT_UNCONFIRMED = "sustainment_unconfirmed"


class NotificationKind(StrEnum):
    NEW_REFERRAL = "new_referral"
    ASSIGNED_CASE_MANAGER = "assigned_case_manager"
    HANDOVER_FROM = "handover_from"
    HANDOVER_TO = "handover_to"
    FOLLOW_UP_DUE_SOON = "follow_up_due_soon"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    SERVICE_GAP = "service_gap"
    ESCALATED_TO_TEAM_REVIEW = "escalated_to_team_review"
    TEAM_REVIEW_DECIDED = "team_review_decided"
    SUSTAINMENT_CHECK_DUE = "sustainment_check_due"


# --------------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------------

# A Finnish personal identity code (henkilötunnus): DDMMYY, century sign, individual number, check char.
# Pseudonymous references must never contain one. The date and the check character are verified, so a
# random reference that merely has the same shape (e.g. hex digits) is not mistaken for one.
_PERSONAL_IDENTITY_CODE = re.compile(r"(?i)(\d{2})(\d{2})(\d{2})[-+A-FU-Y](\d{3})([0-9A-Y])")
_IDENTITY_CODE_CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_CLIENT_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$")
STAFF_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
_STAFF_ID = re.compile(STAFF_ID_PATTERN)
WORKFLOW_ID_PREFIX = "pathway-"
# A client's first pathway is `pathway-<client reference>`; each later one adds `.<ordinal>` (`.2`, `.3`):
# a client reference cannot contain a dot, so no two clients' pathway ids can ever be the same.
PATHWAY_ID_PATTERN = r"^pathway-[A-Za-z0-9][A-Za-z0-9_-]{3,63}(\.[1-9][0-9]{0,3})?$"
_PATHWAY_ID = re.compile(PATHWAY_ID_PATTERN)
MAX_PATHWAYS_PER_CLIENT = 9999
# Ids the workflow gives goals, investigations, services and team reviews (uuid4 text).
ITEM_ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"

StaffId = Annotated[
    str,
    Field(
        pattern=_STAFF_ID.pattern,
        description="Staff member's id (lower-case letters, digits, '.', '_' or '-'). Never a client identifier.",
        examples=["nurse.virtanen"],
    ),
]
TeamId = Annotated[
    str,
    Field(pattern=_STAFF_ID.pattern, description="Work-ability team id.", examples=["eura-worktime"]),
]
ItemId = Annotated[str, Field(pattern=ITEM_ID_PATTERN, description="An item id the pathway gave out.")]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
NOTE_MAX_LENGTH = 4000
NoteText = Annotated[str, Field(min_length=1, max_length=NOTE_MAX_LENGTH)]


def looks_like_personal_identity_code(value: str) -> bool:
    """True when `value` contains a valid Finnish personal identity code (date and check character)."""
    for start in range(len(value)):
        match = _PERSONAL_IDENTITY_CODE.match(value, start)
        if match is None:
            continue
        day, month, _year, individual, check = match.groups()
        if not (1 <= int(day) <= 31 and 1 <= int(month) <= 12):
            continue
        expected = _IDENTITY_CODE_CHECK_CHARS[int(day + month + _year + individual) % 31]
        if check.upper() == expected:
            return True
    return False


def validate_client_reference(value: str) -> str:
    """A pseudonymous client reference: 4-64 letters, digits, '-' or '_', never an identity code."""
    if looks_like_personal_identity_code(value):
        raise ValueError(
            "client_reference looks like a Finnish personal identity code; "
            "use the pseudonymous client reference of the client register instead"
        )
    if not _CLIENT_REFERENCE.match(value):
        raise ValueError(
            "client_reference must be 4-64 characters of letters, digits, '-' or '_', starting with a letter or digit"
        )
    return value


def pathway_id_for(client_reference: str, ordinal: int = 1) -> str:
    """The id of a client's `ordinal`-th pathway (its workflow id and its record id alike).

    Every pathway has an id of its own, so a client's earlier pathways stay readable beside a new one.
    """
    if not 1 <= ordinal <= MAX_PATHWAYS_PER_CLIENT:
        raise ValueError(f"a client has at most {MAX_PATHWAYS_PER_CLIENT} pathways")
    base = WORKFLOW_ID_PREFIX + validate_client_reference(client_reference)
    return base if ordinal == 1 else f"{base}.{ordinal}"


def is_pathway_id(value: str) -> bool:
    return bool(_PATHWAY_ID.match(value))


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, use_enum_values=False)


# Free text written by staff about the client (notes, goals, reasons, summaries, results, comments). It
# travels encrypted through Temporal (the payload codec) and is encrypted at rest in the database; it never
# goes into logs, search attributes, notifications or the coded details reports read.
FREE_TEXT_MARK = "x-free-text"


def free_text(default: Any = ..., **kwargs: Any) -> Any:
    """A `Field` holding client free text (see FREE_TEXT_MARK)."""
    return Field(default, json_schema_extra={FREE_TEXT_MARK: True}, **kwargs)


def free_text_fields(model: type[BaseModel]) -> frozenset[str]:
    """The names of a model's free-text fields."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get(FREE_TEXT_MARK)
    )


# --------------------------------------------------------------------------------------------------
# Policy: the durations of one pathway
# --------------------------------------------------------------------------------------------------


class PathwayPolicy(ContractModel):
    """Deadlines of one pathway. Defaults follow the teams' practice; short values run demos and tests."""

    triage_due_after: timedelta = Field(default=timedelta(days=14), gt=timedelta(0))
    assessment_due_after: timedelta = Field(default=timedelta(days=90), gt=timedelta(0))
    follow_up_interval: timedelta = Field(default=timedelta(days=30), gt=timedelta(0))
    follow_up_reminder_before: timedelta = Field(default=timedelta(days=3), ge=timedelta(0))
    follow_up_grace: timedelta = Field(default=timedelta(days=7), ge=timedelta(0))
    service_gap_allowed: timedelta = Field(default=timedelta(days=14), ge=timedelta(0))
    service_gap_escalate_after: timedelta = Field(default=timedelta(days=14), ge=timedelta(0))
    sustainment_period: timedelta = Field(default=timedelta(days=180), gt=timedelta(0))
    sustainment_confirm_grace: timedelta = Field(default=timedelta(days=14), ge=timedelta(0))
    # A run continues as new well before Temporal's limits (50 MB, 51,200 events): a pathway runs for years,
    # and its replay after an eviction costs what its current run holds.
    continue_as_new_after_events: int = Field(default=2000, ge=50, le=40000)
    continue_as_new_after_bytes: int = Field(default=2 * 1024 * 1024, ge=64 * 1024, le=40 * 1024 * 1024)
