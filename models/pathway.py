"""The pathway's vocabulary: stages, routes, services, causes, the client reference and the pathway id,
and the policy of durations. Shared by the API, the workflow and the record.

Everything in `models/` crosses the Temporal boundary through the pydantic data converter or is stored
in the database, so it stays plain data (no clocks, no I/O). Adding a field with a default or an enum
value is safe for running pathways; renaming or removing one breaks the replay of saved histories.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
# Stages in which the plan's services are followed.
SERVICE_STAGES = frozenset({Stage.PLANNING, Stage.IN_SERVICES, Stage.SUSTAINMENT})


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


class SummaryChannel(StrEnum):
    """How the client got their own copy of the plan."""

    IN_PERSON = "in_person"
    BY_POST = "by_post"
    BY_EMAIL = "by_email"


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
    SERVICE_NOT_STARTED = "service_not_started"
    INVESTIGATION_OVERDUE = "investigation_overdue"
    SERVICE_TRANSITION = "service_transition"
    TRANSITION_UNDECIDED = "transition_undecided"
    HANDOVER_STALLED = "handover_stalled"
    REFERRAL_UNANSWERED = "referral_unanswered"
    GOAL_REVIEW_OVERDUE = "goal_review_overdue"


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
    # Dated commitments of the plan, the assessment and the client's goals.
    SERVICE_START_MISSED = "service_start_missed"
    SERVICE_START_ESCALATION = "service_start_escalation"
    SERVICE_END_PASSED = "service_end_passed"
    INVESTIGATION_OVERDUE = "investigation_overdue"
    INVESTIGATION_ESCALATION = "investigation_escalation"
    GOAL_REVIEW = "goal_review"
    GOAL_REVIEW_ESCALATION = "goal_review_escalation"
    TEAM_REVIEW_STALLED = "team_review_stalled"
    # Safe transitions: an open service transition, a pending hand-over, a referral out, a network meeting.
    TRANSITION_REMINDER = "transition_reminder"
    TRANSITION_ESCALATION = "transition_escalation"
    HANDOVER_REMINDER = "handover_reminder"
    HANDOVER_ESCALATION = "handover_escalation"
    REFERRAL_ANSWER_REMINDER = "referral_answer_reminder"
    REFERRAL_ANSWER_ESCALATION = "referral_answer_escalation"
    NETWORK_MEETING_REMINDER = "network_meeting_reminder"
    NETWORK_MEETING_OVERDUE = "network_meeting_overdue"


class NotificationKind(StrEnum):
    NEW_REFERRAL = "new_referral"
    ASSIGNED_CASE_MANAGER = "assigned_case_manager"
    FOLLOW_UP_DUE_SOON = "follow_up_due_soon"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    SERVICE_GAP = "service_gap"
    ESCALATED_TO_TEAM_REVIEW = "escalated_to_team_review"
    TEAM_REVIEW_DECIDED = "team_review_decided"
    SUSTAINMENT_CHECK_DUE = "sustainment_check_due"
    SERVICE_START_MISSED = "service_start_missed"
    SERVICE_END_PASSED = "service_end_passed"
    INVESTIGATION_OVERDUE = "investigation_overdue"
    GOAL_REVIEW_DUE = "goal_review_due"
    CLIENT_FEEDBACK_RECEIVED = "client_feedback_received"
    CONTACT_CORRECTED = "contact_corrected"
    TEAM_REVIEW_STALLED = "team_review_stalled"
    TRANSITION_TO_DECIDE = "transition_to_decide"
    HANDOVER_PROPOSED = "handover_proposed"
    HANDOVER_PENDING = "handover_pending"
    HANDOVER_ACCEPTED = "handover_accepted"
    HANDOVER_DECLINED = "handover_declined"
    HANDOVER_WITHDRAWN = "handover_withdrawn"
    HANDOVER_REMINDER = "handover_reminder"
    REFERRAL_TO_PARTNER = "referral_to_partner"
    REFERRAL_WITHDRAWN = "referral_withdrawn"
    REFERRAL_ANSWERED = "referral_answered"
    REFERRAL_UNANSWERED = "referral_unanswered"
    NETWORK_MEETING_SOON = "network_meeting_soon"
    NETWORK_MEETING_OVERDUE = "network_meeting_overdue"
    # A team notice, not a pathway's: where a partner's referrals go was changed by another coordinator.
    PARTNER_DESTINATION_CHANGED = "partner_destination_changed"
    # An account notice: an administrator linked the identity a member signs in as (to them and their coordinators).
    IDENTITY_LINKED = "identity_linked"


# -- safe transitions --------------------------------------------------------------------------------------


class TransitionCause(StrEnum):
    """Why one of the plan's services stopped short: the case manager decides what follows."""

    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"
    DECLINED_BY_PROVIDER = "declined_by_provider"
    CONSENT_WITHDRAWN = "consent_withdrawn"


class TransitionDecision(StrEnum):
    REPLACE = "replace"  # a replacing service joins the plan
    ACCEPT = "accept"  # the client goes on without it (the note says why that is safe)
    TEAM_REVIEW = "team_review"  # the team decides


class PartnerKind(StrEnum):
    """Organisations outside the team that provide services or take part in the client's network."""

    KELA = "kela"
    EMPLOYMENT_SERVICES = "employment_services"
    MULTI_SECTOR_JOINT_SERVICE = "multi_sector_joint_service"
    SERVICE_PROVIDER = "service_provider"
    HEALTH_SERVICES = "health_services"
    SOCIAL_SERVICES = "social_services"
    EDUCATION = "education"
    OTHER = "other"


class PartnerChannel(StrEnum):
    """How a partner receives referrals: an e-mail with a signed link, or a signed webhook to its system."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class ConsentScope(StrEnum):
    """What the client allowed to be shared with one partner."""

    REFERRAL = "referral"  # the referral to the partner's service: the need, the period, the message
    NETWORK_MEETING = "network_meeting"  # the partner's people take part in network meetings on the client


class ReferralStatus(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    STARTED = "started"
    ENDED = "ended"
    WITHDRAWN = "withdrawn"  # the client withdrew the consent: nothing more is shared


class ReferralAnswer(StrEnum):
    """What the provider answers a referral (through its link, its webhook, or told to the case manager)."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    STARTED = "started"
    ENDED = "ended"


# A partner's answers come in as the action of `partner:<partner id>` (a staff id has no colon).
PARTNER_ACTOR_PREFIX = "partner:"
# The client answering through their feedback link: `client:<link id>` (never an identity, nor a staff id).
CLIENT_ACTOR_PREFIX = "client:"


class MeetingRole(StrEnum):
    """Who takes part in a network meeting (people are named by their staff or partner id, never the client)."""

    TEAM_MEMBER = "team_member"
    PARTNER = "partner"
    CLIENT = "client"
    CLOSE_PERSON = "close_person"
    OTHER_PROFESSIONAL = "other_professional"


# --------------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------------

# A Finnish personal identity code (henkilötunnus): DDMMYY, century sign, individual number, check char.
# Pseudonymous references must never contain one. The date and the check character are verified, so a
# random reference that merely has the same shape (e.g. hex digits) is not mistaken for one.
_PERSONAL_IDENTITY_CODE = re.compile(r"(?i)(\d{2})(\d{2})(\d{2})[-+A-FU-Y](\d{3})([0-9A-Y])")
_IDENTITY_CODE_CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CLIENT_REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$"
_CLIENT_REFERENCE = re.compile(CLIENT_REFERENCE_PATTERN)
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
PartnerId = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_.-]{1,47}$",
        description="A partner organisation's id in the team's register (e.g. kela-satakunta).",
        examples=["kela-satakunta"],
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


# Dates and durations a pathway can hold: a deadline is a date plus a duration, and a date near year 9999 plus
# days overflows (found by the stateful fuzzing: a demo policy of a million days answered 500). Far beyond
# any pathway, well inside what dates can do.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199
LONGEST_DURATION = timedelta(days=3660)


class ContractModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, use_enum_values=False)

    @model_validator(mode="after")
    def _dates_and_durations_in_range(self) -> Any:
        for name, value in self.__dict__.items():
            if isinstance(value, datetime) and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
                raise ValueError(f"{name} must be in the years {EARLIEST_YEAR}-{LATEST_YEAR}")
            if isinstance(value, timedelta) and abs(value) > LONGEST_DURATION:
                raise ValueError(f"{name} can be at most {LONGEST_DURATION.days} days")
        return self


class ServicePeriod(ContractModel):
    """A service of the plan as planned: what, by whom, when, and whether remote. Declared once and shared by
    the action that plans it, its event, the process and the record."""

    kind: ServiceKind
    provider: str = Field(description="The organisation providing the service.")
    planned_start: datetime
    planned_end: datetime | None = None
    remote: bool = False


# A Goal Attainment Scaling level: -2 much less than expected, 0 the expected outcome, +2 much more.
GasLevel = Annotated[int, Field(ge=-2, le=2, strict=True)]


class GoalTerms(ContractModel):
    """A client's goal as the process keeps it (its text, the client's own words, is in the action and the
    record only). A goal with `gas_baseline` is a Goal Attainment Scaling goal: its review date
    (`target_date`) reminds and escalates, and its attainment is scored at reviews and at closing."""

    target_date: datetime | None = Field(default=None, description="The goal's date; for a GAS goal its review date.")
    achieved: bool = False
    gas_baseline: GasLevel | None = Field(
        default=None, description="For a GAS goal: the client's level at the start, -2 or -1 (0 is the expected level)."
    )

    @property
    def is_gas(self) -> bool:
        return self.gas_baseline is not None


class ConsentTerms(ContractModel):
    """What a client's consent to share allows: with whom, what, from when until when. Declared once and shared
    by the action that records it, its event, the process (which checks it before each referral) and the
    record."""

    partner_id: PartnerId
    scopes: list[ConsentScope] = Field(min_length=1, max_length=len(ConsentScope))
    given_at: datetime = Field(description="When the client gave the consent.")
    expires_at: datetime | None = Field(default=None, description="When it ends by itself; absent: until withdrawn.")

    def allows(self, scope: ConsentScope, at: datetime) -> bool:
        return scope in self.scopes and self.given_at <= at and (self.expires_at is None or at < self.expires_at)


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
    # Dated commitments: a planned start missed, a planned end passed, an investigation or a goal past its
    # date. The case manager hears after the grace; what stays open goes to the team after `escalate_after`.
    commitment_grace: timedelta = Field(default=timedelta(days=3), ge=timedelta(0))
    commitment_escalate_after: timedelta = Field(default=timedelta(days=14), ge=timedelta(0))
    team_review_allowed: timedelta = Field(default=timedelta(days=14), gt=timedelta(0))
    # Safe transitions.
    transition_decide_within: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    handover_accept_within: timedelta = Field(default=timedelta(days=3), gt=timedelta(0))
    # A hand-over leaves the client between two people: it goes to the coordinators sooner than a commitment.
    handover_escalate_after: timedelta = Field(default=timedelta(days=4), ge=timedelta(0))
    referral_answer_within: timedelta = Field(default=timedelta(days=10), gt=timedelta(0))
    network_meeting_reminder_before: timedelta = Field(default=timedelta(days=2), ge=timedelta(0))
    network_meeting_grace: timedelta = Field(default=timedelta(days=3), ge=timedelta(0))
    # A run continues as new well before Temporal's limits (50 MB, 51,200 events): a pathway runs for years,
    # and its replay after an eviction costs what its current run holds.
    continue_as_new_after_events: int = Field(default=2000, ge=50, le=40000)
    continue_as_new_after_bytes: int = Field(default=2 * 1024 * 1024, ge=64 * 1024, le=40 * 1024 * 1024)
