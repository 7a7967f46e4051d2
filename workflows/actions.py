"""Every staff action, declared once: its fields, its route, who may do it, its audit name and its rule.

The workflow handles each as an update of the same name (validator and transition from `workflows.rules`);
the API registers one route per action from here (`api.routes.actions`), with the fields model as the
request body less the ids in the path. Adding an action is one entry here, one fields model in
`models.actions` and one rule pair in `workflows.rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from models import actions as fields
from models.pathway import OPEN_STAGES, SERVICE_STAGES, Stage
from models.process import ProcessState
from models.record import PathwayRecord
from workflows import rules

F = TypeVar("F", bound=BaseModel)


@dataclass(frozen=True, kw_only=True)
class StaffAction(Generic[F]):
    name: str  # the update's name and the audit line's action
    fields: type[F]
    path: str  # under /pathways/{pathway_id}/; {names} in it are fields taken from the URL
    summary: str
    doing: str  # what staff are told is not possible now: "completing the assessment is not possible at ..."
    stages: frozenset[Stage]  # where the action is possible (and where the web app offers it)
    checks: Callable[[ProcessState, F, datetime], None]  # the rule's own checks beyond the stage
    apply: Callable[[rules.Change, F], None]
    coordinator_only: bool = False
    # Fields naming a staff member the API must check is an active case-manager-capable member of the team.
    names_case_manager: tuple[str, ...] = ()
    # Fields naming a partner organisation the API must find in the team's register.
    names_partner: tuple[str, ...] = ()
    # Who may act beyond the role (e.g. only the incoming case manager accepts a hand-over).
    actor_check: Callable[[ProcessState, F, str], None] | None = None
    # A partner organisation may take this action through its signed link or webhook.
    partner_may_act: bool = False
    # The client may take this action through their feedback link.
    client_may_act: bool = False
    # What the pathway must hold for the action to be offered to this staff member (a pending hand-over to
    # them, an open transition ...), beyond the stage and the role; the rules decide, this only leaves out
    # what they would refuse anyway. None: whenever the stage allows it.
    needs: Callable[[PathwayRecord, str], bool] | None = None

    @property
    def path_fields(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)}", self.path))

    def offered(self, stage: Stage) -> bool:
        """Whether the action is possible at this stage."""
        return stage in self.stages

    def offered_to(self, record: PathwayRecord, *, staff_id: str, coordinator: bool, team_has_partners: bool) -> bool:
        """Whether to offer the action to this staff member now: the stage, the role, the team's partner register
        for an action that names a partner, and what the pathway must hold (`needs`)."""
        if not self.offered(record.stage) or (self.coordinator_only and not coordinator):
            return False
        if self.names_partner and not team_has_partners:
            return False
        return self.needs is None or self.needs(record, staff_id)

    def validate(self, state: ProcessState, fields: F, now: datetime, actor: str) -> None:
        """Why the action is impossible now (`rules.Refusal`): who acts, the stage, then the rule's checks."""
        if rules.is_partner(actor) and not self.partner_may_act:
            raise rules.Refusal(f"{self.doing} is for the team's staff, not for a partner organisation")
        if rules.is_client(actor) and not self.client_may_act:
            raise rules.Refusal(f"{self.doing} is for the team's staff, not for the client's feedback link")
        if self.stages == OPEN_STAGES:
            rules.require_open(state)
        else:
            rules.require_stage(state, self.doing, *sorted(self.stages, key=list(Stage).index))
        if self.actor_check is not None:
            self.actor_check(state, fields, actor)
        self.checks(state, fields, now)


def _handover_to_you(record: PathwayRecord, staff_id: str) -> bool:
    return record.handover is not None and record.handover.to_case_manager == staff_id


def _handover_pending(record: PathwayRecord, staff_id: str) -> bool:
    return record.handover is not None


def _case_manager_named(record: PathwayRecord, staff_id: str) -> bool:
    return record.case_manager is not None


def _transition_open(record: PathwayRecord, staff_id: str) -> bool:
    return bool(record.open_transitions())


def _consent_in_force(record: PathwayRecord, staff_id: str) -> bool:
    return any(consent.withdrawn_at is None for consent in record.consents)


def _gas_goal_open(record: PathwayRecord, staff_id: str) -> bool:
    return record.case_manager is not None and any(goal.is_gas for goal in record.goals)


def _referral_open(record: PathwayRecord, staff_id: str) -> bool:
    return any(referral.status.value in ("sent", "accepted", "started") for referral in record.referrals)


ACTIONS: tuple[StaffAction[Any], ...] = (
    StaffAction(
        name="triage",
        fields=fields.Triage,
        path="triage",
        summary="Team triage: route the client and name the case manager",
        doing="triage",
        stages=frozenset({Stage.AWAITING_TRIAGE}),
        checks=rules.validate_triage,
        apply=rules.triage,
        names_case_manager=("case_manager",),
    ),
    StaffAction(
        name="assign_case_manager",
        fields=fields.AssignCaseManager,
        path="case-manager",
        summary="Propose a hand-over to a new case manager (pending until they accept it)",
        doing="handing over",
        stages=OPEN_STAGES,
        checks=rules.validate_assign_case_manager,
        apply=rules.assign_case_manager,
        coordinator_only=True,
        names_case_manager=("case_manager",),
        needs=_case_manager_named,
    ),
    StaffAction(
        name="accept_handover",
        fields=fields.AcceptHandover,
        path="handover/accept",
        summary="Take the pathway over (the incoming case manager): the hand-over note, the client told",
        doing="accepting the hand-over",
        stages=OPEN_STAGES,
        checks=rules.validate_accept_handover,
        apply=rules.accept_handover,
        actor_check=rules.require_incoming_case_manager,
        needs=_handover_to_you,
    ),
    StaffAction(
        name="decline_handover",
        fields=fields.DeclineHandover,
        path="handover/decline",
        summary="Decline the hand-over (the incoming case manager); the coordinators hear why",
        doing="declining the hand-over",
        stages=OPEN_STAGES,
        checks=rules.validate_decline_handover,
        apply=rules.decline_handover,
        actor_check=rules.require_incoming_case_manager,
        needs=_handover_to_you,
    ),
    StaffAction(
        name="withdraw_handover",
        fields=fields.WithdrawHandover,
        path="handover/withdraw",
        summary="Withdraw a pending hand-over",
        doing="withdrawing the hand-over",
        stages=OPEN_STAGES,
        checks=rules.validate_withdraw_handover,
        apply=rules.withdraw_handover,
        coordinator_only=True,
        needs=_handover_pending,
    ),
    StaffAction(
        name="set_goal",
        fields=fields.SetGoal,
        path="goals",
        summary="Add or update the client's own goal",
        doing="setting a goal",
        stages=OPEN_STAGES,
        checks=rules.validate_set_goal,
        apply=rules.set_goal,
    ),
    StaffAction(
        name="score_goal",
        fields=fields.ScoreGoal,
        path="goals/{goal_id}/attainment",
        summary="Score a GAS goal's attainment with the client, at a review or at closing",
        doing="scoring a goal",
        stages=OPEN_STAGES,
        checks=rules.validate_score_goal,
        apply=rules.score_goal,
        needs=_gas_goal_open,
    ),
    StaffAction(
        name="record_work_ability",
        fields=fields.RecordWorkAbility,
        path="work-ability",
        summary="Record the client's own Work Ability Score (0-10), or that the client did not want to answer",
        doing="recording the Work Ability Score",
        stages=OPEN_STAGES,
        checks=rules.validate_record_work_ability,
        apply=rules.record_work_ability,
    ),
    StaffAction(
        name="add_investigation",
        fields=fields.AddInvestigation,
        path="investigations",
        summary="Order an investigation or further examination",
        doing="adding an investigation",
        stages=frozenset({Stage.ASSESSMENT}),
        checks=rules.validate_add_investigation,
        apply=rules.add_investigation,
    ),
    StaffAction(
        name="complete_investigation",
        fields=fields.CompleteInvestigation,
        path="investigations/{investigation_id}/complete",
        summary="Record an investigation's result",
        doing="completing an investigation",
        stages=frozenset({Stage.ASSESSMENT}),
        checks=rules.validate_complete_investigation,
        apply=rules.complete_investigation,
    ),
    StaffAction(
        name="complete_assessment",
        fields=fields.CompleteAssessment,
        path="assessment",
        summary="Complete the assessment: summary and recommendation, then planning",
        doing="completing the assessment",
        stages=frozenset({Stage.ASSESSMENT}),
        checks=rules.validate_complete_assessment,
        apply=rules.complete_assessment,
    ),
    StaffAction(
        name="set_plan",
        fields=fields.SetPlan,
        path="plan",
        summary="Set or revise the follow-up plan and its services",
        doing="setting the follow-up plan",
        stages=frozenset({Stage.PLANNING, Stage.IN_SERVICES}),
        checks=rules.validate_set_plan,
        apply=rules.set_plan,
    ),
    StaffAction(
        name="update_service",
        fields=fields.UpdateService,
        path="services/{service_id}",
        summary="Report a service started, completed, interrupted or cancelled",
        doing="updating a service",
        stages=frozenset({Stage.IN_SERVICES, Stage.SUSTAINMENT}),
        checks=rules.validate_update_service,
        apply=rules.update_service,
    ),
    StaffAction(
        name="decide_transition",
        fields=fields.DecideTransition,
        path="transitions/{transition_id}/decision",
        summary="Decide what follows a service that stopped short: replace it, go on without it, or the team",
        doing="deciding a service transition",
        stages=SERVICE_STAGES,
        checks=rules.validate_decide_transition,
        apply=rules.decide_transition,
        needs=_transition_open,
    ),
    StaffAction(
        name="record_consent",
        fields=fields.RecordConsent,
        path="consents",
        summary="Record the client's consent to share with a partner organisation",
        doing="recording a consent",
        stages=OPEN_STAGES,
        checks=rules.validate_record_consent,
        apply=rules.record_consent,
        names_partner=("partner_id",),
    ),
    StaffAction(
        name="withdraw_consent",
        fields=fields.WithdrawConsent,
        path="consents/{consent_id}/withdraw",
        summary="Record that the client withdrew a consent: nothing more is shared with that partner",
        doing="withdrawing a consent",
        stages=OPEN_STAGES,
        checks=rules.validate_withdraw_consent,
        apply=rules.withdraw_consent,
        needs=_consent_in_force,
    ),
    StaffAction(
        name="refer_service",
        fields=fields.ReferService,
        path="services/{service_id}/referral",
        summary="Refer a planned service to its provider (needs the client's consent to share with it)",
        doing="referring a service",
        stages=SERVICE_STAGES,
        checks=rules.validate_refer_service,
        apply=rules.refer_service,
        names_partner=("partner_id",),
    ),
    StaffAction(
        name="answer_referral",
        fields=fields.AnswerReferral,
        path="referrals/{referral_id}/answer",
        summary="Record the provider's answer to a referral: accepted, declined, started or ended",
        doing="answering a referral",
        stages=SERVICE_STAGES,
        checks=rules.validate_answer_referral,
        apply=rules.answer_referral,
        actor_check=rules.require_referral_partner,
        partner_may_act=True,
        needs=_referral_open,
    ),
    StaffAction(
        name="schedule_network_meeting",
        fields=fields.ScheduleNetworkMeeting,
        path="network-meetings",
        summary="Schedule a network meeting with professionals inside and outside the team",
        doing="scheduling a network meeting",
        stages=OPEN_STAGES,
        checks=rules.validate_schedule_network_meeting,
        apply=rules.schedule_network_meeting,
        needs=_case_manager_named,
    ),
    StaffAction(
        name="record_network_meeting",
        fields=fields.RecordNetworkMeeting,
        path="network-meetings/held",
        summary="Record a network meeting: participants, decisions, the plan it revised, the next meeting",
        doing="recording a network meeting",
        stages=OPEN_STAGES,
        checks=rules.validate_record_network_meeting,
        apply=rules.record_network_meeting,
        needs=_case_manager_named,
    ),
    StaffAction(
        name="record_follow_up",
        fields=fields.RecordFollowUp,
        path="follow-ups",
        summary="Record a follow-up contact with the client",
        doing="recording a follow-up",
        stages=OPEN_STAGES,
        checks=rules.validate_record_follow_up,
        apply=rules.record_follow_up,
    ),
    StaffAction(
        name="request_team_review",
        fields=fields.RequestTeamReview,
        path="team-review",
        summary="Bring the case back to the team",
        doing="requesting a team review",
        stages=OPEN_STAGES,
        checks=rules.validate_request_team_review,
        apply=rules.request_team_review,
    ),
    StaffAction(
        name="decide_team_review",
        fields=fields.DecideTeamReview,
        path="team-review/decision",
        summary="Decide the pending team review",
        doing="deciding the team review",
        stages=OPEN_STAGES,
        checks=rules.validate_decide_team_review,
        apply=rules.decide_team_review,
        coordinator_only=True,
        names_case_manager=("new_case_manager",),
    ),
    StaffAction(
        name="record_outcome",
        fields=fields.RecordOutcome,
        path="outcome",
        summary="Record the long-term solution; sustainment follows",
        doing="recording the long-term solution",
        stages=frozenset({Stage.PLANNING, Stage.IN_SERVICES}),
        checks=rules.validate_record_outcome,
        apply=rules.record_outcome,
    ),
    StaffAction(
        name="confirm_sustainment",
        fields=fields.ConfirmSustainment,
        path="sustainment/confirm",
        summary="Confirm whether the solution held",
        doing="confirming the solution",
        stages=frozenset({Stage.SUSTAINMENT}),
        checks=rules.validate_confirm_sustainment,
        apply=rules.confirm_sustainment,
    ),
    StaffAction(
        name="close",
        fields=fields.Close,
        path="close",
        summary="Close the pathway",
        doing="closing the pathway",
        stages=OPEN_STAGES,
        checks=rules.validate_close,
        apply=rules.close,
    ),
    StaffAction(
        name="give_summary",
        fields=fields.GiveSummary,
        path="summary/given",
        summary="Record that the client got their own copy of the plan (in person, by post or by e-mail)",
        doing="giving the client their copy of the plan",
        stages=OPEN_STAGES,
        checks=rules.validate_give_summary,
        apply=rules.give_summary,
        needs=_case_manager_named,
    ),
    StaffAction(
        name="record_feedback",
        fields=fields.RecordFeedback,
        path="feedback",
        summary="Record the client's feedback",
        doing="recording feedback",
        stages=OPEN_STAGES,
        checks=rules.validate_record_feedback,
        apply=rules.record_feedback,
        client_may_act=True,
    ),
)

# Read-only views: workflow modules keep no mutable module-level state (README, "Changing workflow code").
BY_NAME: Mapping[str, StaffAction[Any]] = MappingProxyType({action.name: action for action in ACTIONS})
BY_FIELDS: Mapping[type[BaseModel], StaffAction[Any]] = MappingProxyType({action.fields: action for action in ACTIONS})


def action_for(fields_model: type[F]) -> StaffAction[F]:
    return BY_FIELDS[fields_model]


def available_actions(
    record: PathwayRecord, *, staff_id: str, coordinator: bool, team_has_partners: bool
) -> list[StaffAction[Any]]:
    """The actions to offer this staff member on the pathway now, in the order they are declared: the API
    lists them on `GET /pathways/{id}` and the web app renders its forms from the same list."""
    return [
        action
        for action in ACTIONS
        if action.offered_to(record, staff_id=staff_id, coordinator=coordinator, team_has_partners=team_has_partners)
    ]
