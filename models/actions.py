"""What staff send: the referral that starts a pathway, and one model per staff action.

Each model is the action's fields, declared once: the HTTP API takes it as the request body (less the ids
that come from the URL), and the workflow receives it as the update's argument beside the acting staff
member (`StaffActor`, filled by the API from the signed-in user, never from the body). The registry of
actions (`workflows.actions`) names each model's route, role, audit name and rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field, field_validator, model_validator

from models.measures import GasOccasion, WorkAbilityAnswer, WorkAbilityOccasion
from models.pathway import (
    CLIENT_ACTOR_PREFIX,
    CLIENT_REFERENCE_PATTERN,
    PARTNER_ACTOR_PREFIX,
    STAFF_ID_PATTERN,
    AssessmentLevel,
    ClosureReason,
    ConsentTerms,
    ContactChannel,
    ContractModel,
    GasLevel,
    GoalTerms,
    ItemId,
    Language,
    LongTermSolution,
    MeetingRole,
    NoteText,
    PartnerId,
    PathwayPolicy,
    ReferralAnswer,
    ReferralSource,
    ReferringOrganisation,
    ServicePeriod,
    ServiceStatusChange,
    ShortText,
    StaffId,
    SummaryChannel,
    TeamId,
    TeamReviewDecision,
    TransitionDecision,
    TriageRoute,
    free_text,
    validate_client_reference,
)

_PARTNER_ACTOR = rf"^{PARTNER_ACTOR_PREFIX}[a-z0-9][a-z0-9_.-]{{1,47}}$"
_CLIENT_ACTOR = rf"^{CLIENT_ACTOR_PREFIX}[a-f0-9]{{16}}$"
ACTOR_PATTERN = rf"({STAFF_ID_PATTERN})|({_PARTNER_ACTOR})|({_CLIENT_ACTOR})"


class StaffActor(ContractModel):
    """Who acts: the signed-in staff member, a partner answering its referral through its signed link or
    webhook (`partner:<partner id>`), or the client giving feedback through their link (`client:<link id>`).
    The API fills it; a body cannot name someone else."""

    actor: str = Field(pattern=ACTOR_PATTERN)


# -- intake ----------------------------------------------------------------------------------------------


class Intake(ContractModel):
    """A referral to the work-ability team: what starts a pathway."""

    client_reference: str = Field(
        description="Pseudonymous client reference; never a personal identity code.",
        examples=["client-4f2a9c"],
        # Documented for clients and generators; checked by `_pseudonymous`, whose errors say what is wrong.
        json_schema_extra={"pattern": CLIENT_REFERENCE_PATTERN, "minLength": 4, "maxLength": 64},
    )
    team: TeamId
    referral_source: ReferralSource
    referring_organisation: ReferringOrganisation | None = Field(
        default=None, description="Required for a professional referral, absent for a self-referral."
    )
    client_language: Language = Language.FI
    remote_services_needed: bool = False
    reason: NoteText = free_text(description="Why the client is referred (free text, no identity codes).")
    referred_at: datetime | None = Field(default=None, description="When the referral arrived; defaults to now.")
    demo: bool = Field(default=False, description="Demo data, not a real client (shown as such in the UI).")

    @field_validator("client_reference")
    @classmethod
    def _pseudonymous(cls, value: str) -> str:
        return validate_client_reference(value)

    @model_validator(mode="after")
    def _referral_source_consistent(self) -> Intake:
        if self.referral_source is ReferralSource.PROFESSIONAL_REFERRAL and self.referring_organisation is None:
            raise ValueError("a professional referral needs referring_organisation")
        if self.referral_source is ReferralSource.SELF_REFERRAL and self.referring_organisation is not None:
            raise ValueError("a self-referral has no referring_organisation")
        return self


class IntakeRequest(Intake):
    """The intake as the API takes it: the referral, and a short policy for demo pathways only."""

    policy: PathwayPolicy | None = Field(
        default=None,
        description="Deadlines of this pathway; only for demo pathways (real ones follow the team's defaults).",
    )

    def intake(self) -> Intake:
        return Intake.model_validate(self.model_dump(exclude={"policy"}))


# -- staff actions ----------------------------------------------------------------------------------------


class Triage(ContractModel):
    route: TriageRoute
    assessment_level: AssessmentLevel | None = Field(
        default=None, description="Required for an extended assessment: basic or specialist level."
    )
    case_manager: StaffId | None = Field(
        default=None, description="Required unless the route is no_need; a member of the pathway's team."
    )
    redirect_note: NoteText | None = free_text(
        default=None, description="Required for no_need: where the client was redirected."
    )
    note: NoteText | None = free_text(default=None, description="The team's triage note.")

    @model_validator(mode="after")
    def _route_consistent(self) -> Triage:
        if self.route is TriageRoute.EXTENDED_ASSESSMENT and self.assessment_level is None:
            raise ValueError("an extended assessment needs assessment_level (basic or specialist)")
        if self.route is not TriageRoute.EXTENDED_ASSESSMENT and self.assessment_level is not None:
            raise ValueError("assessment_level applies only to the extended_assessment route")
        if self.route is TriageRoute.NO_NEED:
            if self.redirect_note is None:
                raise ValueError("the no_need route needs redirect_note: where the client was redirected")
            if self.case_manager is not None:
                raise ValueError("the no_need route closes the pathway and names no case manager")
        elif self.case_manager is None:
            raise ValueError("triage must name the case_manager unless the route is no_need")
        return self


class AssignCaseManager(ContractModel):
    """Propose a hand-over: the current case manager stays responsible until the new one accepts it."""

    case_manager: StaffId = Field(description="The new case manager, a member of the pathway's team.")
    reason: ShortText = free_text(description="Why the case manager changes.")


class AcceptHandover(ContractModel):
    """The incoming case manager takes the pathway over: briefed, and the client told whom to contact."""

    note: NoteText = free_text(description="The hand-over note: the situation and what has been agreed.")
    client_informed: bool = Field(description="The client has been told who their case manager is now.")
    client_informed_via: ContactChannel | None = Field(
        default=None, description="How the client was told (required when client_informed)."
    )

    @model_validator(mode="after")
    def _channel_given(self) -> AcceptHandover:
        if self.client_informed and self.client_informed_via is None:
            raise ValueError("client_informed_via says how the client was told whom to contact")
        return self


class DeclineHandover(ContractModel):
    reason: ShortText = free_text(description="Why the hand-over cannot be taken (the coordinators see it).")


class WithdrawHandover(ContractModel):
    reason: ShortText = free_text(description="Why the proposed hand-over is withdrawn.")


class SetGoal(GoalTerms):
    """The client's own goal; with the five described levels and the baseline, a Goal Attainment Scaling goal
    (the levels in the client's words too, `target_date` its review date)."""

    goal_id: ItemId | None = Field(default=None, description="Given to update an existing goal; absent adds one.")
    text: NoteText = free_text(description="The client's own goal, in the client's own words.")
    gas_much_less: ShortText | None = free_text(default=None, description="GAS level -2: much less than expected.")
    gas_less: ShortText | None = free_text(default=None, description="GAS level -1: less than expected.")
    gas_expected: ShortText | None = free_text(default=None, description="GAS level 0: the expected outcome.")
    gas_more: ShortText | None = free_text(default=None, description="GAS level +1: more than expected.")
    gas_much_more: ShortText | None = free_text(default=None, description="GAS level +2: much more than expected.")

    @model_validator(mode="after")
    def _gas_complete(self) -> SetGoal:
        levels = self.gas_level_texts()
        given = [text is not None for text in levels.values()]
        if not any(given) and self.gas_baseline is None:
            return self
        if not all(given):
            missing = ", ".join(name for name, text in levels.items() if text is None)
            raise ValueError(f"a GAS goal describes all five levels: {missing} missing")
        if self.gas_baseline is None:
            raise ValueError("a GAS goal needs gas_baseline: the client's level at the start (-2 or -1)")
        if self.gas_baseline >= 0:
            raise ValueError("gas_baseline is -2 or -1: the level at the start is below the expected outcome (0)")
        if self.target_date is None:
            raise ValueError("a GAS goal needs target_date: the date its attainment is reviewed")
        return self

    def gas_level_texts(self) -> dict[str, str | None]:
        """The five level descriptions, from -2 to +2, by field name."""
        return {name: getattr(self, name) for name in GAS_LEVEL_FIELDS}


# The GAS level descriptions' fields, from level -2 to +2.
GAS_LEVEL_FIELDS = ("gas_much_less", "gas_less", "gas_expected", "gas_more", "gas_much_more")


class ScoreGoal(ContractModel):
    """The attainment of a GAS goal, scored with the client at a review or at closing."""

    goal_id: ItemId
    attainment: GasLevel = Field(
        description="The level attained: -2 much less than expected ... 0 as expected ... +2 much more (an integer)."
    )
    occasion: GasOccasion = GasOccasion.REVIEW
    next_review_at: datetime | None = Field(
        default=None,
        description="The next review date: required for a review (it reminds and escalates like the first); "
        "the closing score has none.",
    )
    note: NoteText | None = free_text(default=None)

    @model_validator(mode="after")
    def _next_review_for_a_review(self) -> ScoreGoal:
        if self.occasion is GasOccasion.CLOSING and self.next_review_at is not None:
            raise ValueError("next_review_at is for a review; the closing score is the last")
        if self.occasion is GasOccasion.REVIEW and self.next_review_at is None:
            raise ValueError(
                "a review sets next_review_at, the date of the next review; the last score is given with occasion "
                "closing"
            )
        return self


class RecordWorkAbility(WorkAbilityAnswer):
    """The client's own Work Ability Score (0-10 against their lifetime best), or their choice not to answer;
    who asked is the staff member recording it."""

    occasion: WorkAbilityOccasion | None = Field(
        default=None, description="When in the pathway it was asked; absent: from the pathway's stage."
    )
    asked_at: datetime | None = Field(default=None, description="When the client answered; defaults to now.")


class AddInvestigation(ContractModel):
    description: ShortText = free_text(description="What is investigated or examined.")
    provider: ShortText | None = Field(default=None, description="Who carries it out (an organisation or unit).")
    due_at: datetime | None = None


class CompleteInvestigation(ContractModel):
    investigation_id: ItemId
    result_summary: NoteText = free_text()


class CompleteAssessment(ContractModel):
    summary: NoteText = free_text()
    recommendation: NoteText = free_text()


class PlannedServiceInput(ServicePeriod):
    provider: ShortText = Field(description="The organisation providing the service.")
    service_id: ItemId | None = Field(default=None, description="Given to keep a service of the current plan.")

    @model_validator(mode="after")
    def _period_in_order(self) -> PlannedServiceInput:
        if self.planned_end is not None and self.planned_end <= self.planned_start:
            raise ValueError("planned_end must be after planned_start")
        return self


MAX_SERVICES_IN_PLAN = 30


class SetPlan(ContractModel):
    services: list[PlannedServiceInput] = Field(min_length=1, max_length=MAX_SERVICES_IN_PLAN)
    follow_up_interval: timedelta | None = Field(
        default=None, gt=timedelta(0), description="How often the case manager contacts the client."
    )
    note: NoteText | None = free_text(default=None)

    @model_validator(mode="after")
    def _unique_service_ids(self) -> SetPlan:
        kept = [service.service_id for service in self.services if service.service_id]
        if len(kept) != len(set(kept)):
            raise ValueError("the same service_id appears twice in the plan")
        return self


class DecideTransition(ContractModel):
    """What follows a service that stopped short: a replacement, going on without it, or the team."""

    transition_id: ItemId
    decision: TransitionDecision
    note: NoteText = free_text(description="Why this is safe for the client.")
    replacement: PlannedServiceInput | None = Field(default=None, description="Required for replace.")

    @model_validator(mode="after")
    def _replacement_consistent(self) -> DecideTransition:
        if (self.decision is TransitionDecision.REPLACE) != (self.replacement is not None):
            raise ValueError("replacement is given exactly when the decision is replace")
        if self.replacement is not None and self.replacement.service_id is not None:
            raise ValueError("a replacement is a new service: leave its service_id out")
        return self


class RecordConsent(ConsentTerms):
    """The client's consent to share with one partner organisation: its scope, date and expiry."""

    note: NoteText | None = free_text(default=None, description="How the consent was given (e.g. signed form).")

    @model_validator(mode="after")
    def _period_in_order(self) -> RecordConsent:
        if len(set(self.scopes)) != len(self.scopes):
            raise ValueError("a scope appears twice in the consent")
        if self.expires_at is not None and self.expires_at <= self.given_at:
            raise ValueError("expires_at must be after given_at")
        return self


class WithdrawConsent(ContractModel):
    consent_id: ItemId
    note: NoteText | None = free_text(default=None)


class ReferService(ContractModel):
    """Refer a planned service to its provider, a registered partner the client consented to share with."""

    service_id: ItemId
    partner_id: PartnerId
    message: NoteText = free_text(description="What the provider needs to know: shared with it under the consent.")


class AnswerReferral(ContractModel):
    """The provider's answer to a referral: sent by the provider itself, or recorded by staff it told."""

    referral_id: ItemId
    answer: ReferralAnswer
    reason: ShortText | None = free_text(default=None, description="Required when the referral is declined.")

    @model_validator(mode="after")
    def _reason_for_decline(self) -> AnswerReferral:
        if self.answer is ReferralAnswer.DECLINED and not self.reason:
            raise ValueError("a declined referral needs the reason")
        return self


class MeetingParticipant(ContractModel):
    """One participant: a team member or partner by id, others by role only (no names of the client's people)."""

    role: MeetingRole
    staff_id: StaffId | None = Field(default=None, description="For a team member.")
    partner_id: PartnerId | None = Field(default=None, description="For a partner organisation's professional.")
    remote: bool = False

    @model_validator(mode="after")
    def _identified_by_role(self) -> MeetingParticipant:
        if (self.role is MeetingRole.TEAM_MEMBER) != (self.staff_id is not None):
            raise ValueError("staff_id is given exactly for a team member")
        if (self.role is MeetingRole.PARTNER) != (self.partner_id is not None):
            raise ValueError("partner_id is given exactly for a partner's professional")
        return self


MAX_MEETING_PARTICIPANTS = 30


class ScheduleNetworkMeeting(ContractModel):
    """A multi-professional network meeting on the client's situation, inside and outside the team."""

    at: datetime
    participants: list[MeetingParticipant] = Field(min_length=1, max_length=MAX_MEETING_PARTICIPANTS)
    remote: bool = Field(default=False, description="Held remotely (a client far away or with reduced capacity).")
    agenda: NoteText | None = free_text(default=None)


class RecordNetworkMeeting(ContractModel):
    """A network meeting held: who took part, what was decided, the plan it revised, when the next one is."""

    held_at: datetime
    participants: list[MeetingParticipant] = Field(min_length=1, max_length=MAX_MEETING_PARTICIPANTS)
    remote: bool = False
    decisions: NoteText = free_text(description="What the meeting decided.")
    plan: SetPlan | None = Field(default=None, description="The follow-up plan as the meeting revised it.")
    next_meeting_at: datetime | None = Field(default=None, description="The next meeting; it fires like a deadline.")

    @model_validator(mode="after")
    def _next_after_this(self) -> RecordNetworkMeeting:
        if self.next_meeting_at is not None and self.next_meeting_at <= self.held_at:
            raise ValueError("next_meeting_at must be after held_at")
        return self


class UpdateService(ContractModel):
    service_id: ItemId
    change: ServiceStatusChange
    note: NoteText | None = free_text(default=None)


class RecordFollowUp(ContractModel):
    contacted_at: datetime | None = Field(default=None, description="When the contact happened; defaults to now.")
    channel: ContactChannel
    note: NoteText = free_text()


class RequestTeamReview(ContractModel):
    reason: NoteText = free_text()


class TeamReviewDecisionFacts(ContractModel):
    """What a team review decided: the team's action and its event both say it."""

    decision: TeamReviewDecision
    note: NoteText = free_text()
    new_case_manager: StaffId | None = Field(default=None, description="Required for change_case_manager.")
    closure_reason: ClosureReason | None = Field(default=None, description="Required for close.")


class DecideTeamReview(TeamReviewDecisionFacts):
    @model_validator(mode="after")
    def _decision_consistent(self) -> DecideTeamReview:
        if (self.decision is TeamReviewDecision.CHANGE_CASE_MANAGER) != (self.new_case_manager is not None):
            raise ValueError("new_case_manager is given exactly when the decision is change_case_manager")
        if (self.decision is TeamReviewDecision.CLOSE) != (self.closure_reason is not None):
            raise ValueError("closure_reason is given exactly when the decision is close")
        return self


class RecordOutcome(ContractModel):
    solution: LongTermSolution
    description: NoteText = free_text()
    started_at: datetime | None = Field(default=None, description="When the solution began (studies, work, pension).")


class ConfirmSustainment(ContractModel):
    held: bool
    note: NoteText = free_text()


class Close(ContractModel):
    reason: ClosureReason
    note: NoteText = free_text()


class GiveSummary(ContractModel):
    """The client was given their own copy of the plan (the summary in their language)."""

    channel: SummaryChannel = Field(description="How: in person, by post or by e-mail.")


class RecordFeedback(ContractModel):
    """The client's feedback: given by the client through their link, or written down by staff."""

    rating: int = Field(ge=1, le=5, description="The client's rating of the support, 1 (poor) to 5 (excellent).")
    knows_whom_to_contact: bool | None = Field(
        default=None, description='The client\'s answer to "Do you know whom to contact?" (absent: not asked).'
    )
    comment: str | None = free_text(default=None, max_length=4000)
