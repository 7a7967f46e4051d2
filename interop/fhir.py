"""A pathway as a FHIR R4B transaction Bundle, so other health and social-care systems can ingest it.

The bundle is a `transaction` a FHIR server (HAPI, Medplum, ...) takes at its base: every entry is a
conditional update by the resource's business identifier (`PUT Task?identifier=<system>|<value>`), so a
re-export updates what the server has and never duplicates it; a client's later pathway has identifiers of
its own and never overwrites the earlier one. Identifier systems and the organisation come from the
deployment (`FhirSystems`), so two counties never export the same identifiers. Every resource carries a
generated narrative.

Pure functions of the pathway's record (`FhirExportInput`: the record, its stage changes and every
follow-up contact, read from the database): no clock, no I/O; the same state always gives the same bundle (resource
ids are name-based UUIDs of the pathway and the item), so a re-export updates rather than duplicates.

What goes in (the DOMAIN.md mapping):
- `EpisodeOfCare`: the pathway. `status` from the stage (see `episode_status`), `statusHistory` from the
  stage-changing events, `careManager` = current (or, once closed, last) case manager, `team` = the
  CareTeam, `referralRequest` = the ServiceRequest.
- `ServiceRequest`: the referral, self or professional, the referring organisation coded.
- `CareTeam`: one participant per case-manager period, so every handover shows.
- `Goal`: the client's own goals, in the client's own words (`expressedBy` = the client).
- `CarePlan`: the follow-up plan, its services as activities.
- `Encounter`: each follow-up contact (in person, by phone, remote), in the episode.
- `Task`: the next follow-up due, investigations and team reviews, each focused on the episode and based
  on the referral (investigations, reviews) or the plan (the next follow-up).
- Referrals out to partner organisations: a `ServiceRequest` per referral (`basedOn` the CarePlan, the
  partner `Organization` as performer, the client's `Consent` as supporting information) with the `Task`
  that follows the provider's answers (requested, accepted, rejected, in-progress, completed, cancelled).
- `Consent`: each consent to share with a partner, its scopes, period and withdrawal.
- `QuestionnaireResponse`: the client's own feedback through their link, authored by the patient (the rating
  and whether they know whom to contact; the comment stays out).
- `Observation` (category survey): each Work Ability Score answer (an integer 0-10, or `dataAbsentReason`
  asked-declined), its band as the interpretation; each GAS score, focused on its `Goal`. Both name the
  episode by the standard `workflow-episodeOfCare` extension. A GAS goal's `Goal` carries the expected
  level as its target, the five levels and the baseline as notes, and its scores as `outcomeReference`.
- `Patient`, `Practitioner`, `Organization`: thin resources that exist so every reference resolves inside
  the bundle. The client is there only as the pseudonymous reference; staff by staff id and display name.

Privacy: staff notes, the referral reason, assessment and investigation results, decision notes,
feedback comments, the messages to providers and the providers' reasons stay out. Goal texts and short
labels (investigation descriptions, provider names) go in because they are what the resource is; any
run of characters in them that looks like a Finnish personal identity code is replaced before export.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fhir.resources.R4B.bundle import Bundle

from models.measures import GAS_EXPECTED, GasOccasion, WorkAbilityBand, work_ability_band
from models.pathway import (
    ClosureReason,
    ConsentScope,
    ContactChannel,
    InvestigationStatus,
    ReferralSource,
    ReferralStatus,
    ServiceStatus,
    Stage,
    looks_like_personal_identity_code,
)
from models.record import ConsentRecord, FollowUpRecord, GoalRecord, PathwayRecord


@dataclass(frozen=True)
class StageChange:
    at: datetime
    stage: Stage
    closure_reason: ClosureReason | None = None


@dataclass(frozen=True)
class FhirSystems:
    """The deployment's identifier systems and organisation (`PATHWAYS_FHIR_*` settings).

    `base` names the county's namespace, an URL it controls (https://fhir.satakunta.fi/tyokyky) or a URN;
    each identifier system is `base` plus the kind of identifier. Code systems stay the product's own."""

    base: str = "urn:workability-pathways"
    organisation_name: str = "Work-ability services"
    organisation_identifier: str | None = None  # e.g. the county's business id (Y-tunnus) or OID

    def system(self, kind: str) -> str:
        separator = ":" if self.base.startswith("urn:") else "/"
        return f"{self.base.rstrip(separator)}{separator}{kind}"

    @property
    def client_reference(self) -> str:
        return self.system("client-reference")

    @property
    def pathway(self) -> str:
        return self.system("pathway-id")

    @property
    def staff(self) -> str:
        return self.system("staff-id")

    @property
    def team(self) -> str:
        return self.system("team-id")

    @property
    def partner(self) -> str:
        return self.system("partner-id")

    @property
    def referral(self) -> str:
        return self.system("referral-id")

    @property
    def consent(self) -> str:
        return self.system("consent-id")

    @property
    def item(self) -> str:
        """A pathway's own items (goals, tasks, encounters, the plan): `<pathway id>/<type>/<item>`."""
        return self.system("pathway-item")

    @property
    def organisation(self) -> str:
        return self.system("organisation")

    @property
    def measure(self) -> str:
        """The deployment's code system for the measures it records (the Work Ability Score, GAS levels)."""
        return self.system("measure")


@dataclass(frozen=True)
class FhirExportInput:
    """What the export reads: the record, the stage after each change, and every follow-up contact."""

    record: PathwayRecord
    stage_changes: list[StageChange] = field(default_factory=list)
    follow_ups: list[FollowUpRecord] = field(default_factory=list)
    plan_first_set_at: datetime | None = None
    follow_up_overdue: bool = False
    partner_names: dict[str, str] = field(default_factory=dict)  # partner id -> the register's name
    exported_at: datetime | None = None  # decides whether a consent has expired (None: only withdrawal ends one)
    systems: FhirSystems = field(default_factory=FhirSystems)
    staff_names: dict[str, str] = field(default_factory=dict)  # staff id -> display name


# --------------------------------------------------------------------------------------------------
# Code systems of this product (URNs: they name, they do not resolve). Identifier systems: `FhirSystems`.
# --------------------------------------------------------------------------------------------------

NAMESPACE = "urn:workability-pathways"
REFERRAL_SOURCE_SYSTEM = f"{NAMESPACE}:referral-source"
REFERRING_ORGANISATION_SYSTEM = f"{NAMESPACE}:referring-organisation"
TRIAGE_ROUTE_SYSTEM = f"{NAMESPACE}:triage-route"
ASSESSMENT_LEVEL_SYSTEM = f"{NAMESPACE}:assessment-level"
PATHWAY_STAGE_SYSTEM = f"{NAMESPACE}:pathway-stage"
SERVICE_KIND_SYSTEM = f"{NAMESPACE}:service-kind"
CARE_TEAM_ROLE_SYSTEM = f"{NAMESPACE}:care-team-role"
TASK_CODE_SYSTEM = f"{NAMESPACE}:task"
TEAM_REVIEW_CAUSE_SYSTEM = f"{NAMESPACE}:team-review-cause"
TEAM_REVIEW_DECISION_SYSTEM = f"{NAMESPACE}:team-review-decision"
CONSENT_SCOPE_SYSTEM = f"{NAMESPACE}:consent-scope"
REFERRAL_STATUS_SYSTEM = f"{NAMESPACE}:referral-status"
PATHWAY_STAGE_EXTENSION = f"{NAMESPACE}:fhir:extension:pathway-stage"
WORK_ABILITY_BAND_SYSTEM = f"{NAMESPACE}:work-ability-band"
WORK_ABILITY_OCCASION_SYSTEM = f"{NAMESPACE}:work-ability-occasion"
GAS_OCCASION_SYSTEM = f"{NAMESPACE}:gas-occasion"
MEASURE_OCCASION_EXTENSION = f"{NAMESPACE}:fhir:extension:measure-occasion"
# The client's feedback questions (the page asks them in the client's language; the export names them in English).
CLIENT_FEEDBACK_QUESTIONNAIRE = f"{NAMESPACE}:questionnaire:client-feedback"
FEEDBACK_RATING_QUESTION = "How would you rate the support you have had? (1 = poor, 5 = excellent)"
FEEDBACK_CONTACT_QUESTION = "Do you know whom to contact?"
_OCCASION_NAMES = {
    "referral": "At referral",
    "triage": "At triage",
    "assessment": "At the assessment",
    "plan": "At the plan",
    "follow_up": "At a follow-up",
    "outcome": "At the long-term solution",
    "sustainment_end": "At the end of following the solution",
    "review": "At a review",
    "closing": "Final, at closing",
}
# The measures' codes (code, display), in the deployment's measure code system (`FhirSystems.measure`).
WORK_ABILITY_SCORE = (
    "work-ability-score",
    "Work Ability Score: current work ability against the lifetime best, 0-10 (WAI item 1)",
)
GAS_ATTAINMENT = ("gas-attainment", "Goal Attainment Scaling level, -2 to +2 (0 = the expected outcome)")
_BAND_NAMES = {
    WorkAbilityBand.POOR: "Poor (0-5)",
    WorkAbilityBand.MODERATE: "Moderate (6-7)",
    WorkAbilityBand.GOOD: "Good or excellent (8-10)",
}

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CONSENT_SCOPE_CODES = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION_CODES = "http://terminology.hl7.org/CodeSystem/consentaction"
ACT_CODES = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
GOAL_ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SURVEY_CATEGORY = {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
# The standard extension that places a resource in an episode of care (Observation has no element for it).
EPISODE_OF_CARE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare"

# Seeds every resource id: uuid5(pathway, item) keeps ids stable over repeated exports.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NAMESPACE)

REDACTED = "[redacted]"

# --------------------------------------------------------------------------------------------------
# Status mappings (FHIR R4B value sets; fhir.resources does not enforce them, tests do)
# --------------------------------------------------------------------------------------------------

# A closed pathway is `finished` only when it ended as planned (a solution, or the team's normal close);
# everything else ended it outside the expected course: FHIR's `cancelled`.
_FINISHED_CLOSURES = frozenset({ClosureReason.COMPLETED})

_OPEN_STAGE_STATUS = {
    # Waiting for the team's triage: on the team's waitlist, no care yet.
    Stage.AWAITING_TRIAGE: "waitlist",
    Stage.ASSESSMENT: "active",
    Stage.PLANNING: "active",
    Stage.IN_SERVICES: "active",
    Stage.SUSTAINMENT: "active",
}

SERVICE_ACTIVITY_STATUS = {
    ServiceStatus.PLANNED: "not-started",
    ServiceStatus.ACTIVE: "in-progress",
    ServiceStatus.COMPLETED: "completed",
    # Ended before it was complete.
    ServiceStatus.INTERRUPTED: "stopped",
    # Withdrawn before it began.
    ServiceStatus.CANCELLED: "cancelled",
}


# Encounter.class (v3 ActCode): met in person (ambulatory), or at a distance.
ENCOUNTER_CLASS = {
    ContactChannel.IN_PERSON: ("AMB", "ambulatory"),
    ContactChannel.PHONE: ("VR", "virtual"),
    ContactChannel.REMOTE: ("VR", "virtual"),
}


def episode_status(stage: Stage, closure_reason: ClosureReason | None = None) -> str:
    """EpisodeOfCare.status: awaiting_triage -> waitlist; assessment..sustainment -> active;
    closed -> finished (closure reason completed) or cancelled (no_need, client_declined, moved_away, other)."""
    if stage is Stage.CLOSED:
        return "finished" if closure_reason in _FINISHED_CLOSURES else "cancelled"
    return _OPEN_STAGE_STATUS[stage]


def gas_achievement(level: int, baseline: int, *, final: bool) -> str:
    """Goal.achievementStatus of a GAS goal from its attained level: the expected level (0) or above is
    achieved; below it, the final score is not-achieved, a review's says how it moves from the baseline."""
    if level >= GAS_EXPECTED:
        return "achieved"
    if final:
        return "not-achieved"
    if level > baseline:
        return "improving"
    return "no-change" if level == baseline else "worsening"


def referral_status(state: PathwayRecord) -> str:
    """ServiceRequest.status: the referral is in force while the pathway is open, completed when the
    pathway finished, revoked when it ended otherwise (e.g. no need found in triage)."""
    if state.stage is not Stage.CLOSED:
        return "active"
    return "completed" if episode_status(state.stage, _closure_reason(state)) == "finished" else "revoked"


def _closure_reason(state: PathwayRecord) -> ClosureReason | None:
    return state.closure.reason if state.closure else None


# A referral to a partner: ServiceRequest.status and the Task that follows the provider's answers.
REFERRAL_REQUEST_STATUS = {
    ReferralStatus.SENT: "active",
    ReferralStatus.ACCEPTED: "active",
    ReferralStatus.STARTED: "active",
    ReferralStatus.ENDED: "completed",
    ReferralStatus.DECLINED: "revoked",
    ReferralStatus.WITHDRAWN: "revoked",
}
REFERRAL_TASK_STATUS = {
    ReferralStatus.SENT: "requested",
    ReferralStatus.ACCEPTED: "accepted",
    ReferralStatus.DECLINED: "rejected",
    ReferralStatus.STARTED: "in-progress",
    ReferralStatus.ENDED: "completed",
    ReferralStatus.WITHDRAWN: "cancelled",
}
_SCOPE_LABELS = {
    ConsentScope.REFERRAL: "Referral to the partner's service",
    ConsentScope.NETWORK_MEETING: "Network meetings",
}


def consent_status(consent: ConsentRecord, at: datetime | None) -> str:
    """Consent.status: active while in force; inactive once withdrawn or expired."""
    if consent.withdrawn_at is not None:
        return "inactive"
    if at is not None and consent.expires_at is not None and consent.expires_at <= at:
        return "inactive"
    return "active"


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------


_WORD = re.compile(r"\S+")


def redact(text: str) -> str:
    """The text with every word that contains something like a personal identity code replaced."""
    return _WORD.sub(lambda word: REDACTED if looks_like_personal_identity_code(word.group()) else word.group(), text)


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)], "text": display or code.replace("_", " ")}


def _period(start: datetime | None, end: datetime | None = None) -> dict[str, Any]:
    period: dict[str, Any] = {}
    if start is not None:
        period["start"] = start
    if end is not None:
        period["end"] = end
    return period


_XHTML = "http://www.w3.org/1999/xhtml"


def _text_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return str(value["text"])
        codings = value.get("coding") or []
        if codings and codings[0].get("display"):
            return str(codings[0]["display"])
    if isinstance(value, list) and value:
        return _text_of(value[0])
    return None


def narrative(resource_type: str, resource: dict[str, Any]) -> dict[str, str]:
    """A generated narrative: the resource's kind, what it is and its status, for a human reader."""
    label = re.sub(r"(?<!^)(?=[A-Z])", " ", resource_type)
    what = next(
        (
            text
            for key in ("title", "name", "description", "code", "type", "category", "class", "scope")
            if (text := _text_of(resource.get(key)))
        ),
        None,
    )
    if what is None and resource_type in ("Patient", "Practitioner"):
        what = resource["identifier"][0]["value"]  # the pseudonymous reference, the staff id
    status = resource.get("status") or resource.get("lifecycleStatus")
    parts = [part for part in (what, f"status: {status}" if status else None) if part]
    body = html.escape(f"{label}: {'; '.join(parts)}" if parts else label)
    return {"status": "generated", "div": f'<div xmlns="{_XHTML}"><p>{body}</p></div>'}


def conditional_url(resource_type: str, identifier: dict[str, str]) -> str:
    """The conditional update of a resource by its business identifier (FHIR search `system|value`)."""
    return (
        f"{resource_type}?identifier={quote(identifier['system'], safe=':/')}|{quote(identifier['value'], safe=':/')}"
    )


class _BundleBuilder:
    """Collects resources under urn:uuid fullUrls (references point at those; the server resolves them to
    the ids it assigns), each with its business identifier, a narrative and a conditional update."""

    def __init__(self, pathway_id: str, systems: FhirSystems) -> None:
        self._pathway_id = pathway_id
        self._systems = systems
        self._entries: dict[str, dict[str, Any]] = {}

    def url(self, resource_type: str, key: str) -> str:
        seed = f"{self._systems.base}/{self._pathway_id}/{resource_type}/{key}"
        return f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, seed)}"

    def add(
        self, resource_type: str, key: str, resource: dict[str, Any], *, shared_key: str | None = None
    ) -> dict[str, Any]:
        """A reference to the resource, adding it on first use (thin resources are shared). A resource with
        no business identifier of its own gets the pathway's item identifier (`shared_key`: one shared by
        the deployment's pathways, e.g. a provider named in several plans)."""
        full_url = self.url(resource_type, key)
        if full_url not in self._entries:
            if "identifier" not in resource:
                value = shared_key or f"{self._pathway_id}/{resource_type}/{key}"
                resource = {"identifier": [{"system": self._systems.item, "value": value}], **resource}
            identifiers = resource["identifier"]
            identifier = identifiers[0] if isinstance(identifiers, list) else identifiers
            body = {"resourceType": resource_type, **resource}
            body["text"] = narrative(resource_type, resource)
            self._entries[full_url] = {
                "fullUrl": full_url,
                "resource": body,
                "request": {"method": "PUT", "url": conditional_url(resource_type, identifier)},
            }
        return {"reference": full_url, "type": resource_type}

    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries.values())


class _PathwayExport:
    def __init__(self, export: FhirExportInput) -> None:
        self.export = export
        self.state = export.record
        self.systems = export.systems
        self.bundle = _BundleBuilder(export.record.pathway_id, export.systems)

    # -- thin resources --------------------------------------------------------------------------

    def patient(self) -> dict[str, Any]:
        identifier = {"system": self.systems.client_reference, "value": self.state.client_reference}
        reference = self.bundle.add("Patient", "client", {"identifier": [identifier]})
        # The identifier on the reference lets a receiver match the client without the Patient entry.
        return {**reference, "identifier": identifier}

    def practitioner(self, staff_id: str) -> dict[str, Any]:
        identifier = {"system": self.systems.staff, "value": staff_id}
        resource: dict[str, Any] = {"identifier": [identifier]}
        name = self.export.staff_names.get(staff_id)
        if name:
            resource["name"] = [{"text": name}]
        reference = self.bundle.add("Practitioner", f"staff:{staff_id}", resource)
        return {**reference, "display": name} if name else reference

    def organisation(self) -> dict[str, Any]:
        """The wellbeing services county (or whoever runs the deployment): every team is part of it."""
        systems = self.systems
        identifier = {"system": systems.organisation, "value": systems.organisation_identifier or "organisation"}
        return self.bundle.add(
            "Organization",
            "organisation",
            {"identifier": [identifier], "active": True, "name": systems.organisation_name},
        )

    def team(self) -> dict[str, Any]:
        team = self.state.team
        return self.bundle.add(
            "Organization",
            f"team:{team}",
            {
                "identifier": [{"system": self.systems.team, "value": team}],
                "active": True,
                "name": f"Work-ability team {team}",
                "partOf": self.organisation(),
            },
        )

    def provider(self, name: str) -> dict[str, Any]:
        shown = redact(name)
        return self.bundle.add(
            "Organization", f"provider:{name}", {"name": shown}, shared_key=f"{self.state.team}/provider/{shown}"
        )

    def partner(self, partner_id: str) -> dict[str, Any]:
        identifier = {"system": self.systems.partner, "value": f"{self.state.team}/{partner_id}"}
        resource: dict[str, Any] = {"identifier": [identifier], "active": True}
        if partner_id in self.export.partner_names:
            resource["name"] = redact(self.export.partner_names[partner_id])
        return self.bundle.add("Organization", f"partner:{partner_id}", resource)

    def referring_organisation(self) -> dict[str, Any] | None:
        organisation = self.state.referral.referring_organisation
        if organisation is None:
            return None
        label = organisation.value.replace("_", " ").capitalize()
        return self.bundle.add(
            "Organization",
            f"referrer:{organisation.value}",
            {"type": [_concept(REFERRING_ORGANISATION_SYSTEM, organisation.value, label)], "name": label},
            shared_key=f"referrer/{organisation.value}",
        )

    # -- the pathway --------------------------------------------------------------------------------

    def status_history(self) -> list[dict[str, Any]]:
        """One entry per FHIR status the pathway has had, from its stage-changing events."""
        periods: list[tuple[str, datetime]] = [(episode_status(Stage.AWAITING_TRIAGE), self.state.referral.referred_at)]
        stage = Stage.AWAITING_TRIAGE
        for change in self.export.stage_changes:
            if change.stage is stage:
                continue
            stage = change.stage
            reason = change.closure_reason if stage is Stage.CLOSED else None
            status = episode_status(stage, reason or _closure_reason(self.state))
            if status != periods[-1][0]:
                periods.append((status, change.at))
        history = []
        for index, (status, start) in enumerate(periods):
            end = periods[index + 1][1] if index + 1 < len(periods) else None
            history.append({"status": status, "period": _period(start, end)})
        return history

    def care_team(self) -> dict[str, Any] | None:
        history = self.state.case_manager_history
        if not history:
            return None
        closed = self.state.stage is Stage.CLOSED
        participants = [
            {
                "role": [_concept(CARE_TEAM_ROLE_SYSTEM, "case_manager", "Case manager")],
                "member": self.practitioner(period.staff_id),
                "onBehalfOf": self.team(),
                "period": _period(period.assumed_at, period.renounced_at),
            }
            for period in history
        ]
        return self.bundle.add(
            "CareTeam",
            "case-managers",
            {
                "status": "inactive" if closed else "active",
                "name": f"Case managers, work-ability team {self.state.team}",
                "subject": self.patient(),
                "period": _period(history[0].assumed_at, self.state.closure.closed_at if self.state.closure else None),
                "participant": participants,
                "managingOrganization": [self.team()],
            },
        )

    def referral(self) -> dict[str, Any]:
        intake = self.state.referral
        self_referral = intake.referral_source is ReferralSource.SELF_REFERRAL
        requester = self.patient() if self_referral else self.referring_organisation()
        source_label = "Self-referral" if self_referral else "Professional referral"
        resource: dict[str, Any] = {
            "identifier": [{"system": self.systems.pathway, "value": self.state.pathway_id}],
            "status": referral_status(self.state),
            "intent": "order",
            # What it is (SNOMED) and where it came from (the product's code) are two categories, not one.
            "category": [
                _concept(SNOMED, "3457005", "Patient referral"),
                {
                    "coding": [_coding(REFERRAL_SOURCE_SYSTEM, intake.referral_source.value, source_label)],
                    "text": source_label,
                },
            ],
            "code": {"text": "Work-ability support"},
            "subject": self.patient(),
            "authoredOn": self.state.referral.referred_at,
            "requester": requester,
            "performer": [self.team()],
        }
        return self.bundle.add("ServiceRequest", "referral", resource)

    def goals(self) -> list[dict[str, Any]]:
        closed = self.state.stage is Stage.CLOSED
        references = []
        for goal in self.state.goals:
            if goal.achieved:
                lifecycle, achievement = "completed", "achieved"
            elif closed:
                # The pathway ended without the goal reached: no one pursues it any more.
                lifecycle, achievement = "cancelled", "not-achieved"
            else:
                lifecycle, achievement = "active", "in-progress"
            resource: dict[str, Any] = {
                "lifecycleStatus": lifecycle,
                "achievementStatus": _concept(GOAL_ACHIEVEMENT_SYSTEM, achievement, achievement.replace("-", " ")),
                # The client's own words are the goal; only identity-code look-alikes are removed.
                "description": {"text": redact(goal.text)},
                "subject": self.patient(),
                "startDate": goal.set_at.date(),
                "statusDate": goal.updated_at.date(),
                "expressedBy": self.patient(),
            }
            if goal.target_date is not None:
                resource["target"] = [{"dueDate": goal.target_date.date()}]
            if goal.is_gas:
                self._gas_goal(goal, resource, closed)
            references.append(self.bundle.add("Goal", f"goal:{goal.goal_id}", resource))
        return references

    def _gas_goal(self, goal: GoalRecord, resource: dict[str, Any], closed: bool) -> None:
        """A GAS goal: the expected level (0) as its target, its five levels and the baseline as notes, the
        achievement from the attained level, and each score an Observation focused on the goal."""
        target: dict[str, Any] = {"measure": self._measure_code(GAS_ATTAINMENT), "detailInteger": GAS_EXPECTED}
        if goal.target_date is not None:
            target["dueDate"] = goal.target_date.date()
        resource["target"] = [target]
        resource["note"] = [
            {"text": redact(f"GAS {level:+d}: {text}" if level else f"GAS 0 (expected): {text}")}
            for level, text in goal.gas_levels()
        ]
        resource["note"].append({"text": f"GAS level at the start: {goal.gas_baseline:+d}"})
        attained = goal.attained_level
        scored_closing = any(score.occasion is GasOccasion.CLOSING for score in goal.scores)
        # The attainment is final once scored at closing, the goal is marked achieved, or the pathway has closed.
        final = scored_closing or goal.achieved or closed
        if goal.achieved:
            achievement = "achieved"
        elif attained is not None:
            achievement = gas_achievement(attained, goal.gas_baseline or 0, final=final)
        else:
            achievement = "not-achieved" if closed else "in-progress"
        resource["achievementStatus"] = _concept(GOAL_ACHIEVEMENT_SYSTEM, achievement, achievement.replace("-", " "))
        if scored_closing or goal.achieved:
            resource["lifecycleStatus"] = "completed"
        elif closed:
            resource["lifecycleStatus"] = "cancelled"
        goal_reference = {"reference": self.bundle.url("Goal", f"goal:{goal.goal_id}"), "type": "Goal"}
        outcomes = []
        for index, score in enumerate(goal.scores):
            observation: dict[str, Any] = {
                "status": "final",
                "category": [SURVEY_CATEGORY],
                "code": self._measure_code(GAS_ATTAINMENT),
                "subject": self.patient(),
                "focus": [goal_reference],
                "effectiveDateTime": score.scored_at,
                "performer": [self.practitioner(score.scored_by)],
                "valueInteger": score.level,
                "extension": [self._episode_extension()],
            }
            observation["extension"].append(self._occasion_extension(GAS_OCCASION_SYSTEM, score.occasion.value))
            outcomes.append(self.bundle.add("Observation", f"gas:{goal.goal_id}:{index}", observation))
        if outcomes:
            resource["outcomeReference"] = outcomes

    def _measure_code(self, measure: tuple[str, str]) -> dict[str, Any]:
        """A measure's code in the deployment's code system, with its display."""
        code, display = measure
        return _concept(self.systems.measure, code, display)

    def _episode_extension(self) -> dict[str, Any]:
        return {"url": EPISODE_OF_CARE_EXTENSION, "valueReference": self.episode_reference}

    @staticmethod
    def _occasion_extension(system: str, occasion: str) -> dict[str, Any]:
        """When in the pathway the measure was taken (at triage, at a review, at closing ...)."""
        return {"url": MEASURE_OCCASION_EXTENSION, "valueCoding": _coding(system, occasion, _OCCASION_NAMES[occasion])}

    def client_feedback(self) -> None:
        """The client's own feedback (through their link) as a QuestionnaireResponse authored by the patient:
        the rating and whether they know whom to contact. The comment stays out, as every free comment does."""
        for feedback in self.state.feedback:
            if not feedback.by_client:
                continue
            items: list[dict[str, Any]] = [
                {"linkId": "rating", "text": FEEDBACK_RATING_QUESTION, "answer": [{"valueInteger": feedback.rating}]}
            ]
            if feedback.knows_whom_to_contact is not None:
                items.append(
                    {
                        "linkId": "knows-whom-to-contact",
                        "text": FEEDBACK_CONTACT_QUESTION,
                        "answer": [{"valueBoolean": feedback.knows_whom_to_contact}],
                    }
                )
            patient = self.patient()
            key = f"feedback:{feedback.sequence}"
            response = {
                # A QuestionnaireResponse has one identifier, not a list.
                "identifier": {
                    "system": self.systems.item,
                    "value": f"{self.state.pathway_id}/QuestionnaireResponse/{key}",
                },
                "questionnaire": CLIENT_FEEDBACK_QUESTIONNAIRE,
                "status": "completed",
                "subject": patient,
                "authored": feedback.recorded_at,
                "author": patient,
                "source": patient,
                "extension": [self._episode_extension()],
                "item": items,
            }
            self.bundle.add("QuestionnaireResponse", key, response)

    def work_ability_observations(self) -> None:
        """Each Work Ability Score answer: the score as an integer, or the client's choice not to answer as a
        data-absent reason; its band as the interpretation; the episode by the standard workflow extension."""
        for answer in self.state.work_ability:
            observation: dict[str, Any] = {
                "status": "final",
                "category": [SURVEY_CATEGORY],
                "code": self._measure_code(WORK_ABILITY_SCORE),
                "subject": self.patient(),
                "effectiveDateTime": answer.asked_at,
                "performer": [self.practitioner(answer.asked_by)],
                "extension": [
                    self._episode_extension(),
                    self._occasion_extension(WORK_ABILITY_OCCASION_SYSTEM, answer.occasion.value),
                ],
            }
            if answer.score is None:
                observation["dataAbsentReason"] = _concept(DATA_ABSENT_REASON, "asked-declined", "Asked But Declined")
            else:
                observation["valueInteger"] = answer.score
                band = work_ability_band(answer.score)
                observation["interpretation"] = [_concept(WORK_ABILITY_BAND_SYSTEM, band.value, _BAND_NAMES[band])]
            self.bundle.add("Observation", f"was:{answer.sequence}", observation)

    def care_plan(self, care_team: dict[str, Any] | None, goals: list[dict[str, Any]]) -> dict[str, Any] | None:
        plan = self.state.plan
        if plan is None:
            return None
        if self.state.stage is Stage.CLOSED:
            status = (
                "completed" if episode_status(Stage.CLOSED, _closure_reason(self.state)) == "finished" else "revoked"
            )
        else:
            # The plan stays in force while a revision or reassessment is under way.
            status = "active"
        first_set = self.export.plan_first_set_at or plan.set_at
        interval_days = plan.follow_up_interval.total_seconds() / 86400
        activities = []
        for service in self.state.services:
            label = service.kind.value.replace("_", " ").capitalize()
            detail: dict[str, Any] = {
                "kind": "ServiceRequest",
                "code": _concept(SERVICE_KIND_SYSTEM, service.kind.value, label),
                "status": SERVICE_ACTIVITY_STATUS[service.status],
                "scheduledPeriod": _period(service.planned_start, service.planned_end),
                "performer": [self.provider(service.provider)],
            }
            if service.remote:
                detail["description"] = "Remote service"
            activities.append({"detail": detail})
        resource: dict[str, Any] = {
            "identifier": [{"system": self.systems.item, "value": f"{self.state.pathway_id}/plan"}],
            "status": status,
            "intent": "plan",
            "title": f"Follow-up plan v{plan.version}",
            "description": f"Follow-up contact every {interval_days:g} day(s)",
            "subject": self.patient(),
            "period": _period(first_set, self.state.closure.closed_at if self.state.closure else None),
            "created": first_set,
            "author": self.practitioner(self.state.case_manager) if self.state.case_manager else self.team(),
            "goal": goals,
            "activity": activities,
        }
        if care_team is not None:
            resource["careTeam"] = [care_team]
        return self.bundle.add("CarePlan", "plan", resource)

    def case_manager_at(self, moment: datetime) -> str | None:
        """Who was the case manager at a moment (the latest one to take over at or before it)."""
        current = None
        for period in self.state.case_manager_history:
            if period.assumed_at <= moment:
                current = period.staff_id
        return current

    def _task(self, key: str, resource: dict[str, Any]) -> dict[str, Any]:
        # Every task of the pathway acts on its episode: a receiver finds them from the EpisodeOfCare.
        return self.bundle.add("Task", key, {"for": self.patient(), "focus": self.episode_reference, **resource})

    def follow_up_encounters(self) -> None:
        """Each follow-up contact as the Encounter it was, in the pathway's episode."""
        for index, contact in enumerate(self.export.follow_ups):
            channel = contact.channel.value.replace("_", " ")
            self.bundle.add(
                "Encounter",
                f"follow-up:{index}",
                {
                    "status": "finished",
                    "class": _coding(ACT_CODES, *ENCOUNTER_CLASS[contact.channel]),
                    "type": [_concept(TASK_CODE_SYSTEM, "follow_up_contact", "Follow-up contact")],
                    "serviceType": {"text": f"Follow-up contact ({channel})"},
                    "subject": self.patient(),
                    "episodeOfCare": [self.episode_reference],
                    "participant": [
                        {
                            "type": [_concept(PARTICIPATION_TYPE, "PPRF", "primary performer")],
                            "individual": self.practitioner(contact.recorded_by),
                        }
                    ],
                    "period": _period(contact.contacted_at, contact.contacted_at),
                    "serviceProvider": self.team(),
                },
            )

    def next_follow_up_task(self, care_plan: dict[str, Any] | None) -> None:
        due = self.state.next_follow_up_due
        if self.state.stage not in (Stage.IN_SERVICES, Stage.SUSTAINMENT) or due is None:
            return
        resource: dict[str, Any] = {
            "status": "ready",
            "intent": "plan",
            "code": _concept(TASK_CODE_SYSTEM, "follow_up_contact", "Follow-up contact"),
            "description": "Next follow-up contact",
            "restriction": {"period": {"end": due}},
        }
        if care_plan is not None:
            resource["basedOn"] = [care_plan]
        if self.state.case_manager:
            resource["owner"] = self.practitioner(self.state.case_manager)
        if self.export.follow_up_overdue:
            resource["businessStatus"] = {"text": "overdue"}
        self._task(f"follow-up-due:{due.isoformat()}", resource)

    def investigation_tasks(self, referral: dict[str, Any]) -> None:
        closed = self.state.stage is Stage.CLOSED
        for investigation in self.state.investigations:
            completed = investigation.status is InvestigationStatus.COMPLETED
            status = "completed" if completed else ("cancelled" if closed else "requested")
            # Who ordered it asked for it; whoever saw it through (or is the case manager now) owns it.
            owner = investigation.completed_by or self.state.case_manager
            description = redact(investigation.description)
            if investigation.provider:
                description += f" ({redact(investigation.provider)})"
            resource: dict[str, Any] = {
                "basedOn": [referral],
                "status": status,
                "intent": "order",
                "code": _concept(TASK_CODE_SYSTEM, "investigation", "Investigation or further examination"),
                "description": description,
                "authoredOn": investigation.ordered_at,
                "executionPeriod": _period(investigation.ordered_at, investigation.completed_at),
            }
            if investigation.due_at is not None:
                resource["restriction"] = {"period": {"end": investigation.due_at}}
            resource["requester"] = self.practitioner(investigation.ordered_by)
            if owner:
                resource["owner"] = self.practitioner(owner)
            self._task(f"investigation:{investigation.investigation_id}", resource)

    def team_review_tasks(self, referral: dict[str, Any]) -> None:
        closed = self.state.stage is Stage.CLOSED
        for review in self.state.team_reviews:
            decided = review.decision is not None
            status = "completed" if decided else ("cancelled" if closed else "requested")
            resource: dict[str, Any] = {
                "basedOn": [referral],
                "status": status,
                "intent": "order",
                "code": _concept(TASK_CODE_SYSTEM, "team_review", "Team review"),
                "reasonCode": _concept(TEAM_REVIEW_CAUSE_SYSTEM, review.cause.value),
                "authoredOn": review.opened_at,
                "executionPeriod": _period(review.opened_at, review.decided_at),
                # The team decides together.
                "owner": self.team(),
            }
            if review.opened_by != "system":
                resource["requester"] = self.practitioner(review.opened_by)
            if review.decision is not None:
                resource["output"] = [
                    {
                        "type": {"text": "decision"},
                        "valueCodeableConcept": _concept(TEAM_REVIEW_DECISION_SYSTEM, review.decision.value),
                    }
                ]
            self._task(f"team-review:{review.review_id}", resource)

    def consents(self) -> dict[str, dict[str, Any]]:
        """Each consent to share with a partner, by its id."""
        references = {}
        for consent in self.state.consents:
            ended = consent.withdrawn_at or consent.expires_at
            resource: dict[str, Any] = {
                "identifier": [{"system": self.systems.consent, "value": consent.consent_id}],
                "status": consent_status(consent, self.export.exported_at),
                "scope": _concept(CONSENT_SCOPE_CODES, "patient-privacy", "Privacy Consent"),
                "category": [
                    {
                        "coding": [
                            _coding(LOINC, "59284-0", "Patient Consent"),
                            *(
                                _coding(CONSENT_SCOPE_SYSTEM, scope.value, _SCOPE_LABELS[scope])
                                for scope in consent.scopes
                            ),
                        ]
                    }
                ],
                "patient": self.patient(),
                "dateTime": consent.given_at,
                "performer": [self.patient()],
                "organization": [self.team()],
                "policyRule": _concept(ACT_CODES, "OPTIN", "opt-in"),
                "provision": {
                    "type": "permit",
                    "period": _period(consent.given_at, ended),
                    "actor": [
                        {
                            "role": _concept(PARTICIPATION_TYPE, "IRCP", "information recipient"),
                            "reference": self.partner(consent.partner_id),
                        }
                    ],
                    "action": [_concept(CONSENT_ACTION_CODES, "disclose", "Disclose")],
                },
            }
            references[consent.consent_id] = self.bundle.add("Consent", f"consent:{consent.consent_id}", resource)
        return references

    def referrals_out(self, care_plan: dict[str, Any] | None, consents: dict[str, dict[str, Any]]) -> None:
        """Each referral to a partner as a ServiceRequest, and the Task that follows the provider's answers."""
        for referral in self.state.referrals:
            label = referral.service_kind.value.replace("_", " ").capitalize()
            identifier = [{"system": self.systems.referral, "value": referral.referral_id}]
            service = next((s for s in self.state.services if s.service_id == referral.service_id), None)
            request: dict[str, Any] = {
                "identifier": identifier,
                "status": REFERRAL_REQUEST_STATUS[referral.status],
                "intent": "order",
                "category": [_concept(SNOMED, "3457005", "Patient referral")],
                "code": _concept(SERVICE_KIND_SYSTEM, referral.service_kind.value, label),
                "subject": self.patient(),
                "authoredOn": referral.sent_at,
                "requester": self.practitioner(referral.sent_by),
                "performer": [self.partner(referral.partner_id)],
            }
            if care_plan is not None:
                request["basedOn"] = [care_plan]
            if service is not None:
                request["occurrencePeriod"] = _period(service.planned_start, service.planned_end)
            if referral.consent_id in consents:
                request["supportingInfo"] = [consents[referral.consent_id]]
            service_request = self.bundle.add("ServiceRequest", f"referral-out:{referral.referral_id}", request)
            last = referral.answers[-1].at if referral.answers else referral.sent_at
            task: dict[str, Any] = {
                "identifier": identifier,
                "status": REFERRAL_TASK_STATUS[referral.status],
                "businessStatus": _concept(REFERRAL_STATUS_SYSTEM, referral.status.value),
                "intent": "order",
                "code": _concept("http://hl7.org/fhir/CodeSystem/task-code", "fulfill", "Fulfill the focal request"),
                "focus": service_request,
                "authoredOn": referral.sent_at,
                "lastModified": referral.withdrawn_at or last,
                "requester": self.practitioner(referral.sent_by),
                "owner": self.partner(referral.partner_id),
                "restriction": {"period": {"end": referral.answer_due}},
            }
            self._task(f"referral-out:{referral.referral_id}", task)

    def episode(self, care_team: dict[str, Any] | None, referral: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        episode_type = [_concept(f"{NAMESPACE}:programme", "work_ability_support", "Work-ability support")]
        if state.assessment is not None:
            episode_type.append(_concept(TRIAGE_ROUTE_SYSTEM, state.assessment.route.value))
            if state.assessment.level is not None:
                episode_type.append(_concept(ASSESSMENT_LEVEL_SYSTEM, state.assessment.level.value))
        resource: dict[str, Any] = {
            "extension": [
                {"url": PATHWAY_STAGE_EXTENSION, "valueCoding": _coding(PATHWAY_STAGE_SYSTEM, state.stage.value)}
            ],
            "identifier": [{"system": self.systems.pathway, "value": state.pathway_id}],
            "status": episode_status(state.stage, _closure_reason(state)),
            "statusHistory": self.status_history(),
            "type": episode_type,
            "patient": self.patient(),
            "managingOrganization": self.team(),
            "period": _period(state.referral.referred_at, state.closure.closed_at if state.closure else None),
            "referralRequest": [referral],
        }
        if state.case_manager:
            resource["careManager"] = self.practitioner(state.case_manager)
        if care_team is not None:
            resource["team"] = [care_team]
        return self.bundle.add("EpisodeOfCare", "episode", resource)

    def build(self) -> dict[str, Any]:
        # The episode's reference is known before it is added (fullUrls are name-based): tasks point at it.
        self.episode_reference = {"reference": self.bundle.url("EpisodeOfCare", "episode"), "type": "EpisodeOfCare"}
        referral = self.referral()
        care_team = self.care_team()
        goals = self.goals()
        care_plan = self.care_plan(care_team, goals)
        self.episode(care_team, referral)
        self.follow_up_encounters()
        self.next_follow_up_task(care_plan)
        self.investigation_tasks(referral)
        self.team_review_tasks(referral)
        self.referrals_out(care_plan, self.consents())
        self.work_ability_observations()
        self.client_feedback()
        # The episode first: a reader looking for "the pathway" finds it at once.
        entries = sorted(self.bundle.entries(), key=lambda e: e["resource"]["resourceType"] != "EpisodeOfCare")
        return {
            "resourceType": "Bundle",
            "identifier": {"system": self.systems.pathway, "value": self.state.pathway_id},
            "type": "transaction",
            "entry": entries,
        }


def pathway_bundle(export: FhirExportInput) -> Bundle:
    """The pathway as a FHIR R4B transaction Bundle whose references all resolve inside it."""
    return Bundle.model_validate(_PathwayExport(export).build())


def pathway_bundle_json(export: FhirExportInput) -> dict[str, Any]:
    """The bundle as FHIR JSON (a dict ready for a JSON response)."""
    return pathway_bundle(export).model_dump(mode="json")
