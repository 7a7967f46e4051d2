"""What the product's codes and fields are called on the pages: English here, Finnish and Swedish in the
catalogues (context `label`). One place, so a stage or a service kind reads the same on every page."""

from __future__ import annotations

from enum import StrEnum

from core.i18n import pgettext
from models.events import EventKind
from models.pathway import (
    AssessmentLevel,
    ClosureReason,
    ContactChannel,
    DeadlineKind,
    InvestigationStatus,
    Language,
    LongTermSolution,
    NotificationKind,
    ReferralSource,
    ReferringOrganisation,
    ServiceKind,
    ServiceStatus,
    ServiceStatusChange,
    Stage,
    TeamReviewCause,
    TeamReviewDecision,
    TriageRoute,
)
from models.tables import StaffRole

CODES: dict[type[StrEnum], dict[str, str]] = {
    Stage: {
        "awaiting_triage": "Awaiting team triage",
        "assessment": "Assessment",
        "planning": "Planning",
        "in_services": "In services",
        "sustainment": "Following the solution",
        "closed": "Closed",
    },
    TriageRoute: {
        "health_check": "Health check",
        "extended_assessment": "Extended assessment",
        "no_need": "No need for the service",
    },
    AssessmentLevel: {"basic": "Basic level", "specialist": "Specialist level"},
    ReferralSource: {"self_referral": "Self-referral", "professional_referral": "Referral by a professional"},
    ReferringOrganisation: {
        "employment_services": "Employment services",
        "multi_sector_joint_service": "Multi-sector joint service",
        "kela": "Kela",
        "health_station": "Health station",
        "social_services": "Social services",
        "municipal_employment_pilot": "Municipal employment pilot",
        "other": "Other",
    },
    Language: {"fi": "Finnish", "sv": "Swedish", "en": "English"},
    ServiceKind: {
        "vocational_rehabilitation": "Vocational rehabilitation",
        "employment_services": "Employment services",
        "rehabilitative_work_activity": "Rehabilitative work activity",
        "mental_health_services": "Mental health services",
        "substance_abuse_services": "Substance abuse services",
        "social_work": "Social work",
        "health_services": "Health services",
        "multi_sector_joint_service": "Multi-sector joint service",
        "study_guidance": "Study guidance",
        "other": "Other service",
    },
    ServiceStatus: {
        "planned": "Planned",
        "active": "Active",
        "completed": "Completed",
        "interrupted": "Interrupted",
        "cancelled": "Cancelled",
    },
    ServiceStatusChange: {
        "started": "Started",
        "completed": "Completed",
        "interrupted": "Interrupted",
        "cancelled": "Cancelled",
    },
    ContactChannel: {"in_person": "In person", "phone": "Phone", "remote": "Remote (video)"},
    InvestigationStatus: {"ordered": "Ordered", "completed": "Completed"},
    TeamReviewCause: {
        "requested_by_staff": "Requested by staff",
        "triage_overdue": "Triage overdue",
        "assessment_overdue": "Assessment overdue",
        "follow_up_overdue": "Follow-up overdue",
        "service_gap": "Gap in services",
        "sustainment_unconfirmed": "Solution not confirmed",
        "solution_did_not_hold": "Solution did not hold",
    },
    TeamReviewDecision: {
        "continue": "Continue as planned",
        "reassess": "Assess again",
        "change_case_manager": "Change the case manager",
        "revise_plan": "Revise the plan",
        "close": "Close the pathway",
    },
    LongTermSolution: {
        "studies": "Studies",
        "employment": "Employment",
        "disability_pension": "Disability pension",
        "other": "Other solution",
    },
    ClosureReason: {
        "completed": "Completed",
        "client_declined": "Client declined",
        "moved_away": "Client moved away",
        "no_need": "No need",
        "other": "Other reason",
    },
    DeadlineKind: {
        "triage_due": "Team triage due",
        "assessment_due": "Assessment due",
        "follow_up_reminder": "Follow-up coming up",
        "follow_up_overdue": "Follow-up overdue",
        "service_gap_notice": "Gap in services",
        "service_gap_escalation": "Gap in services: to the team",
        "sustainment_check": "Check that the solution holds",
        "sustainment_unconfirmed": "Solution not confirmed",
    },
    NotificationKind: {
        "new_referral": "New referral",
        "assigned_case_manager": "Named case manager",
        "handover_from": "Handed over from you",
        "handover_to": "Handed over to you",
        "follow_up_due_soon": "Follow-up coming up",
        "follow_up_overdue": "Follow-up overdue",
        "service_gap": "Gap in services",
        "escalated_to_team_review": "Back to the team",
        "team_review_decided": "Team review decided",
        "sustainment_check_due": "Check that the solution holds",
    },
    StaffRole: {"professional": "Professional", "coordinator": "Coordinator", "admin": "Administrator"},
    EventKind: {
        "referral_received": "Referral received",
        "triaged": "Triaged by the team",
        "case_manager_assigned": "Case manager named",
        "case_manager_changed": "Handed over to a new case manager",
        "goal_set": "Goal set",
        "goal_updated": "Goal updated",
        "investigation_added": "Investigation ordered",
        "investigation_completed": "Investigation result recorded",
        "assessment_completed": "Assessment completed",
        "reassessment_started": "Assessed again",
        "plan_set": "Plan set",
        "plan_revised": "Plan revised",
        "service_started": "Service started",
        "service_completed": "Service completed",
        "service_interrupted": "Service interrupted",
        "service_cancelled": "Service cancelled",
        "follow_up_recorded": "Follow-up recorded",
        "follow_up_reminder_sent": "Follow-up reminder sent",
        "service_gap_noticed": "Gap in services noticed",
        "sustainment_check_requested": "Check of the solution requested",
        "team_review_opened": "Back to the team",
        "team_review_decided": "Team review decided",
        "outcome_recorded": "Long-term solution recorded",
        "outcome_set_aside": "Solution set aside",
        "sustainment_confirmed": "Solution held",
        "solution_did_not_hold": "Solution did not hold",
        "feedback_recorded": "Feedback recorded",
        "closed": "Closed",
    },
}

# Form fields, by name (the same name means the same thing in every action).
FIELDS: dict[str, str] = {
    "client_reference": "Client reference (pseudonymous)",
    "team": "Team",
    "referral_source": "How the client came",
    "referring_organisation": "Referring organisation",
    "client_language": "Client's language",
    "remote_services_needed": "Needs remote services",
    "reason": "Reason",
    "referred_at": "Referral received",
    "route": "Route",
    "level": "Assessment level",
    "case_manager": "Case manager",
    "redirect_note": "Where the client was directed",
    "note": "Note",
    "text": "The client's goal, in their own words",
    "target_date": "Target date",
    "achieved": "Achieved",
    "goal_id": "Goal",
    "description": "Description",
    "provider": "Provider",
    "due_at": "Due",
    "investigation_id": "Investigation",
    "result_summary": "Result",
    "summary": "Summary",
    "recommendation": "Recommendation",
    "services": "Services",
    "kind": "Service",
    "service_id": "Service",
    "planned_start": "Planned start",
    "planned_end": "Planned end",
    "remote": "Remote",
    "follow_up_interval": "Follow-up every (days)",
    "change": "What happened",
    "contacted_at": "When",
    "channel": "How",
    "decision": "Decision",
    "new_case_manager": "New case manager",
    "closure_reason": "Reason for closing",
    "solution": "Long-term solution",
    "started_at": "Began",
    "held": "The solution held",
    "rating": "Rating (1-5)",
    "comment": "Comment",
}


def code_label(value: StrEnum | str | None, language: str) -> str:
    if value is None:
        return ""
    for enum, labels in CODES.items():
        if isinstance(value, enum):
            return pgettext(language, "label", labels[value.value])
    text = str(value)
    for labels in CODES.values():
        if text in labels:
            return pgettext(language, "label", labels[text])
    return text


def choices(enum: type[StrEnum], language: str) -> list[tuple[str, str]]:
    labels = CODES[enum]
    return [(member.value, pgettext(language, "label", labels[member.value])) for member in enum]


def field_label(name: str, language: str) -> str:
    return pgettext(language, "label", FIELDS.get(name, name.replace("_", " ").capitalize()))
