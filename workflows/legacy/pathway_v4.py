"""The client pathway as it ran before version 5 (workflow type `PathwayWorkflow`): frozen.

Pathways started on this code keep running on it until they move their record into the database: the
`move_record_to_database` update (sent by the worker at start-up, by `python -m ops.cli pathways move-records`,
or by the API when staff touch such a pathway) makes the main loop write the whole record through
the `move_v4_record` activity and continue as the current `Pathway` workflow with a bounded process.
Nothing else here may change: the saved histories `tests/histories/v1-*` ... `v4-*` replay on this class.

Originally: the client pathway: one long-running workflow per client, from referral until a solution holds.

Staff act through Updates with validators: an impossible action is rejected with its reason before it
enters history, so the pathway never has to undo anything. Handlers only change the state and queue
side effects; the main loop runs those effects as activities and waits for the next deadline that
`workflows.deadlines` derives from the state. Everything here must be deterministic: time comes from
`workflow.now()`, ids from `workflow.uuid4()`, and any change that alters the commands a saved history
produced needs `workflow.patched` (see README, "Changing workflow code").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models.process import PathwayStart as CurrentPathwayStart
    from workflows import search_attributes
    from workflows.legacy import deadlines_v4 as deadlines
    from workflows.legacy.contract_v4 import (
        ENDED_SERVICE_STATUSES,
        ESCALATE_TO_TEAM_REVIEW,
        MOVE_V4_RECORD,
        NOTIFY_CASE_MANAGER,
        NOTIFY_TEAM,
        RECORD_PATHWAY_EVENTS,
        AddInvestigationInput,
        Assessment,
        AssignCaseManagerInput,
        CaseManagerPeriod,
        CloseInput,
        Closure,
        ClosureReason,
        CompleteAssessmentInput,
        CompleteInvestigationInput,
        ConfirmSustainmentInput,
        Deadline,
        DeadlineKind,
        DecideTeamReviewInput,
        EscalateToTeamReviewInput,
        EventKind,
        Feedback,
        FollowUp,
        FollowUpPlan,
        Goal,
        Investigation,
        InvestigationStatus,
        NotificationKind,
        NotifyCaseManagerInput,
        NotifyTeamInput,
        Outcome,
        PathwayEvent,
        PathwayStartInput,
        PathwayState,
        PathwayView,
        PlannedService,
        RecordFeedbackInput,
        RecordFollowUpInput,
        RecordOutcomeInput,
        RecordPathwayEventsInput,
        RequestTeamReviewInput,
        ServiceStatus,
        ServiceStatusChange,
        SetGoalInput,
        SetPlanInput,
        Stage,
        TeamReview,
        TeamReviewCause,
        TeamReviewDecision,
        TriageInput,
        TriageRoute,
        UpdateServiceInput,
    )
    from workflows.legacy.upgrade import MoveV4Record, process_from_v4
    from workflows.pathway import PathwayWorkflow as CurrentPathwayWorkflow

SYSTEM_ACTOR = "system"
# Patch ids (README, "Changing workflow code"): each guards a change that older histories must not see.
PATCH_CLOSE_SETTLES_TEAM_REVIEWS = "close-settles-team-reviews"
PATCH_READ_MODEL_AS_LOCAL_ACTIVITY = "read-model-as-local-activity"
PATCH_EFFECTS_AS_LOCAL_ACTIVITIES = "effects-as-local-activities"
MAX_GOALS = 20
MAX_INVESTIGATIONS = 50
# A contact "now" may be typed a little ahead of the server's clock.
CLOCK_TOLERANCE = timedelta(minutes=5)

# Notifications and the read model must eventually happen, so they retry without a limit on attempts;
# an error a retry cannot fix (unknown recipient, bad input) is raised non-retryable by the activity.
PERMANENT_EFFECT_ERRORS = ("InvalidEffectInput", "UnknownRecipient")
EFFECT_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=PERMANENT_EFFECT_ERRORS,
)
EFFECT_TIMEOUT = timedelta(seconds=30)
# A notification or escalation is first tried a few times as a local activity, inside the workflow task
# that queued it; a channel still failing then is handed to a normal activity with EFFECT_RETRY_POLICY,
# whose retries cost the history nothing while an SMTP server or a webhook is down for hours.
LOCAL_EFFECT_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_attempts=3,
    non_retryable_error_types=PERMANENT_EFFECT_ERRORS,
)


class InvalidPathwayAction(ApplicationError):
    """Raised by validators; the API shows `message` to staff as the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="InvalidPathwayAction", non_retryable=True)


def _reject_unless(condition: bool, reason: str) -> None:
    if not condition:
        raise InvalidPathwayAction(reason)


@dataclass
class _Effect:
    """A side effect queued by a handler, run by the main loop as the activity of that name."""

    summary: str
    activity: str
    arg: Any


MOVE_RECORD_TIMEOUT = timedelta(minutes=2)


@workflow.defn(name="PathwayWorkflow")
class PathwayWorkflowV4:
    @workflow.init
    def __init__(self, start: PathwayStartInput) -> None:
        # Set only by `move_record_to_database`, an update no saved history holds: older histories replay
        # exactly as before, and no `workflow.patched` marker is needed for the move.
        self._move_requested = False
        self._effects: list[_Effect] = []
        self._effects_as_local_activities = False  # decided at the start of `run`
        self._changes = 0
        # Search attribute values this run has upserted (a new run publishes everything once).
        self._published: dict[str, Any] = {}
        if start.carried_state is not None:
            # Continue-as-new: the state came along whole, effects were drained before it.
            self.state = start.carried_state
            self.state.runs += 1
            return
        referred_at = start.intake.referred_at or workflow.now()
        self.state = PathwayState(
            pathway_id=workflow.info().workflow_id,
            intake=start.intake,
            policy=start.policy,
            referred_at=referred_at,
        )
        source = start.intake.referral_source.value
        organisation = start.intake.referring_organisation
        self._record(
            EventKind.REFERRAL_RECEIVED,
            start.intake.registered_by,
            f"Referral ({source}{', ' + organisation.value if organisation else ''}) to team {start.intake.team}",
            referral_source=source,
            referring_organisation=organisation.value if organisation else "",
            client_language=start.intake.client_language.value,
            remote_services_needed=str(start.intake.remote_services_needed).lower(),
            referred_at=referred_at.isoformat(),
        )
        self._notify_team(NotificationKind.NEW_REFERRAL, due_at=referred_at + start.policy.triage_due_after)

    # ------------------------------------------------------------------------------------------
    # Main loop
    # ------------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: PathwayStartInput) -> PathwayState:
        # Patches are decided here, in the first workflow task of each run. Checked first after a local
        # activity's result instead, a patch can land in a later workflow task than that result's marker,
        # and a replay (which learns of a task's patches only when it reaches the task) would then answer
        # differently: a non-determinism the property tests found. Runs started by older code replay
        # without these markers and keep the old behaviour until they continue as new.
        self._effects_as_local_activities = workflow.patched(PATCH_EFFECTS_AS_LOCAL_ACTIVITIES)
        if self._effects_as_local_activities:
            workflow.patched(PATCH_READ_MODEL_AS_LOCAL_ACTIVITY)
        while True:
            await self._run_queued_effects()
            self._publish_status()
            if self.state.stage is Stage.CLOSED and self._settled():
                return self.state
            if self._move_requested and self._settled():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._settled():
                    await self._move_record_and_continue()
                continue
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                # Queued effects are closures of this run and must run here; events not yet in the read
                # model travel in the state and the next run records them.
                if not self._effects:
                    self.state.fired_deadline_keys = deadlines.still_relevant_fired_keys(self.state)
                    workflow.continue_as_new(
                        PathwayStartInput(intake=self.state.intake, policy=self.state.policy, carried_state=self.state)
                    )
                continue
            if self._settled():
                await self._wait_for_change_or_deadline()

    def _settled(self) -> bool:
        return not self._effects and self.state.recorded_event_sequence >= self.state.last_event_sequence

    async def _move_record_and_continue(self) -> None:
        """Write the whole record to the database, then continue as the current workflow (bounded state)."""
        await workflow.execute_activity(
            MOVE_V4_RECORD,
            MoveV4Record(state=self.state),
            start_to_close_timeout=MOVE_RECORD_TIMEOUT,
            retry_policy=EFFECT_RETRY_POLICY,
            summary="move the record into the database",
        )
        process = process_from_v4(self.state, now=workflow.now())
        workflow.continue_as_new(CurrentPathwayStart(carried=process), workflow=CurrentPathwayWorkflow.run)

    @workflow.update
    def move_record_to_database(self) -> str:
        """Move this pathway's record into the database and continue as the current `Pathway` workflow."""
        self._move_requested = True
        self._changes += 1
        return "moving"

    @move_record_to_database.validator
    def _validate_move_record_to_database(self) -> None:
        self._require_open()

    async def _wait_for_change_or_deadline(self) -> None:
        seen = self._changes
        upcoming = deadlines.next_deadline(self.state)
        if upcoming is None:
            await workflow.wait_condition(lambda: self._changes != seen or bool(self._effects))
            return
        # A deadline already passed (e.g. after a long outage) fires at once without a timer.
        remaining = upcoming.due_at - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(
                    lambda: self._changes != seen or bool(self._effects),
                    timeout=remaining,
                    timeout_summary=f"{upcoming.kind.value} due {upcoming.due_at:%Y-%m-%d %H:%M} UTC",
                )
                return
            except TimeoutError:
                pass
        self._fire_deadline(upcoming)

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.get_current_history_length() >= self.state.policy.continue_as_new_after_events
            or info.is_continue_as_new_suggested()
        )

    async def _run_queued_effects(self) -> None:
        """Run the effects queued so far, then bring the read model up to date once.

        One batch per loop turn, so a steady stream of staff actions cannot keep the loop from checking
        the history length.
        """
        batch, self._effects = self._effects, []
        for effect in batch:
            try:
                await self._run_effect(effect)
            except ActivityError as err:
                # A notification that can never be delivered must not stop the client's pathway; the
                # activity has marked it failed for operations to see.
                workflow.logger.warning("Effect %r failed for good: %s", effect.summary, err.cause)
        if self.state.recorded_event_sequence < self.state.last_event_sequence:
            await self._record_events_in_read_model()

    async def _run_effect(self, effect: _Effect) -> None:
        if not self._effects_as_local_activities:
            await self._run_effect_as_activity(effect)
            return
        # As a local activity the effect runs inside the workflow task that queued it: a reminder that falls
        # due is one workflow task instead of two with an activity task between them, which halves the
        # worker's and the server's work when a Monday's reminders fall due together (docs/BENCHMARKS.md).
        try:
            await workflow.execute_local_activity(
                effect.activity,
                effect.arg,
                start_to_close_timeout=EFFECT_TIMEOUT,
                retry_policy=LOCAL_EFFECT_RETRY_POLICY,
                summary=effect.summary,
            )
        except (ActivityError, ApplicationError) as err:
            # A local activity's failure may reach the workflow without the ActivityError around it; either
            # way it must not escape, since an ApplicationError escaping the workflow fails the pathway.
            cause = err.cause if isinstance(err, ActivityError) else err
            if isinstance(cause, ApplicationError) and cause.type in PERMANENT_EFFECT_ERRORS:
                workflow.logger.warning("Effect %r failed for good: %s", effect.summary, cause)
                return
            workflow.logger.info("Effect %r still failing; handing it to an activity that retries", effect.summary)
            await self._run_effect_as_activity(effect)

    async def _run_effect_as_activity(self, effect: _Effect) -> None:
        await workflow.execute_activity(
            effect.activity,
            effect.arg,
            start_to_close_timeout=EFFECT_TIMEOUT,
            retry_policy=EFFECT_RETRY_POLICY,
            summary=effect.summary,
        )

    async def _record_events_in_read_model(self) -> None:
        unrecorded = [event for event in self.state.events if event.sequence > self.state.recorded_event_sequence]
        if not unrecorded:
            self.state.recorded_event_sequence = self.state.last_event_sequence
            return
        upto = unrecorded[-1].sequence
        events = RecordPathwayEventsInput(
            pathway_id=self.state.pathway_id,
            team=self.state.intake.team,
            stage=self.state.stage,
            case_manager=self.state.case_manager,
            route=self.state.assessment.route if self.state.assessment else None,
            events=unrecorded,
        )
        summary = f"record events {unrecorded[0].sequence}-{upto}"
        if workflow.patched(PATCH_READ_MODEL_AS_LOCAL_ACTIVITY):
            # The read model is one write to the worker's own database: as a local activity it runs inside
            # the workflow task that queued it, without an activity task and a further workflow task through
            # the server, which halves the server's work per staff action (docs/BENCHMARKS.md, figure 2).
            await workflow.execute_local_activity(
                RECORD_PATHWAY_EVENTS,
                events,
                start_to_close_timeout=EFFECT_TIMEOUT,
                retry_policy=EFFECT_RETRY_POLICY,
                summary=summary,
            )
        else:
            await workflow.execute_activity(
                RECORD_PATHWAY_EVENTS,
                events,
                start_to_close_timeout=EFFECT_TIMEOUT,
                retry_policy=EFFECT_RETRY_POLICY,
                summary=summary,
            )
        self.state.recorded_event_sequence = max(self.state.recorded_event_sequence, upto)

    # ------------------------------------------------------------------------------------------
    # Queries
    # ------------------------------------------------------------------------------------------

    @workflow.query
    def get_state(self) -> PathwayState:
        return self.state

    @workflow.query
    def get_timeline(self) -> list[PathwayEvent]:
        return self.state.events

    # ------------------------------------------------------------------------------------------
    # Staff actions: validators say why not; handlers change state and queue effects.
    # ------------------------------------------------------------------------------------------

    def _require_open(self) -> None:
        _reject_unless(self.state.stage is not Stage.CLOSED, "the pathway is closed")

    def _require_stage(self, action: str, *stages: Stage) -> None:
        self._require_open()
        allowed = ", ".join(stage.value for stage in stages)
        _reject_unless(
            self.state.stage in stages,
            f"{action} is not possible at stage {self.state.stage.value} (possible at: {allowed})",
        )

    def _require_case_manager(self, action: str) -> None:
        _reject_unless(self.state.case_manager is not None, f"{action} needs a case manager; triage the pathway first")

    def _require_not_future(self, moment: datetime | None, what: str) -> None:
        if moment is not None:
            _reject_unless(moment <= workflow.now() + CLOCK_TOLERANCE, f"{what} cannot be in the future")
            _reject_unless(moment >= self.state.referred_at, f"{what} cannot be before the referral")

    # 2. triage ---------------------------------------------------------------------------------

    @workflow.update
    def triage(self, action: TriageInput) -> PathwayView:
        now = workflow.now()
        for review in self.state.pending_team_reviews():
            if review.cause is TeamReviewCause.TRIAGE_OVERDUE:
                # The team's triage is the review an overdue triage asked for.
                self._decide_review(review, action.actor, TeamReviewDecision.CONTINUE, "resolved by triage")
        if action.route is TriageRoute.NO_NEED:
            self._record(
                EventKind.TRIAGED, action.actor, "Triage: no need for the team's services", route=action.route.value
            )
            self._close(ClosureReason.NO_NEED, action.redirect_note or "", action.actor)
            return self._after_change()
        self.state.assessment = Assessment(route=action.route, level=action.assessment_level, started_at=now)
        self.state.stage = Stage.ASSESSMENT
        level = f" ({action.assessment_level.value})" if action.assessment_level else ""
        self._record(
            EventKind.TRIAGED,
            action.actor,
            f"Triage: {action.route.value}{level}",
            route=action.route.value,
            assessment_level=action.assessment_level.value if action.assessment_level else "",
        )
        assert action.case_manager is not None
        self._assign_case_manager(action.case_manager, action.actor, "named in triage")
        return self._after_change()

    @triage.validator
    def _validate_triage(self, action: TriageInput) -> None:
        self._require_stage("triage", Stage.AWAITING_TRIAGE)

    # 3. case manager change (handover) ----------------------------------------------------------

    @workflow.update
    def assign_case_manager(self, action: AssignCaseManagerInput) -> PathwayView:
        self._assign_case_manager(action.case_manager, action.actor, action.reason)
        return self._after_change()

    @assign_case_manager.validator
    def _validate_assign_case_manager(self, action: AssignCaseManagerInput) -> None:
        self._require_open()
        self._require_case_manager("changing the case manager")
        _reject_unless(
            action.case_manager != self.state.case_manager,
            f"{action.case_manager} is already the case manager",
        )

    # 4. the client's own goal -------------------------------------------------------------------

    @workflow.update
    def set_goal(self, action: SetGoalInput) -> PathwayView:
        now = workflow.now()
        if action.goal_id is None:
            goal = Goal(
                goal_id=str(workflow.uuid4()),
                text=action.text,
                target_date=action.target_date,
                achieved=action.achieved,
                set_at=now,
                updated_at=now,
            )
            self.state.goals.append(goal)
            self._record(EventKind.GOAL_SET, action.actor, f"Client's goal set ({goal.goal_id[:8]})")
        else:
            goal = self._goal(action.goal_id)
            goal.text, goal.target_date, goal.achieved, goal.updated_at = (
                action.text,
                action.target_date,
                action.achieved,
                now,
            )
            state = "achieved" if goal.achieved else "updated"
            self._record(EventKind.GOAL_UPDATED, action.actor, f"Client's goal {state} ({goal.goal_id[:8]})")
        return self._after_change()

    @set_goal.validator
    def _validate_set_goal(self, action: SetGoalInput) -> None:
        self._require_open()
        self._require_case_manager("setting the client's goal")
        if action.goal_id is None:
            _reject_unless(len(self.state.goals) < MAX_GOALS, f"a pathway holds at most {MAX_GOALS} goals")
        else:
            _reject_unless(
                any(goal.goal_id == action.goal_id for goal in self.state.goals), f"no goal {action.goal_id}"
            )

    def _goal(self, goal_id: str) -> Goal:
        return next(goal for goal in self.state.goals if goal.goal_id == goal_id)

    # 5. investigations and further examinations ---------------------------------------------------

    @workflow.update
    def add_investigation(self, action: AddInvestigationInput) -> PathwayView:
        investigation = Investigation(
            investigation_id=str(workflow.uuid4()),
            description=action.description,
            provider=action.provider,
            due_at=action.due_at,
            ordered_at=workflow.now(),
        )
        self.state.investigations.append(investigation)
        self._record(
            EventKind.INVESTIGATION_ADDED,
            action.actor,
            f"Investigation ordered ({investigation.investigation_id[:8]})",
        )
        return self._after_change()

    @add_investigation.validator
    def _validate_add_investigation(self, action: AddInvestigationInput) -> None:
        self._require_stage("adding an investigation", Stage.ASSESSMENT)
        _reject_unless(
            len(self.state.investigations) < MAX_INVESTIGATIONS,
            f"a pathway holds at most {MAX_INVESTIGATIONS} investigations",
        )
        if action.due_at is not None:
            _reject_unless(action.due_at > workflow.now(), "due_at of an investigation must be in the future")

    @workflow.update
    def complete_investigation(self, action: CompleteInvestigationInput) -> PathwayView:
        investigation = self._investigation(action.investigation_id)
        investigation.status = InvestigationStatus.COMPLETED
        investigation.completed_at = workflow.now()
        investigation.result_summary = action.result_summary
        self._record(
            EventKind.INVESTIGATION_COMPLETED,
            action.actor,
            f"Investigation completed ({investigation.investigation_id[:8]})",
        )
        return self._after_change()

    @complete_investigation.validator
    def _validate_complete_investigation(self, action: CompleteInvestigationInput) -> None:
        self._require_stage("completing an investigation", Stage.ASSESSMENT)
        found = [i for i in self.state.investigations if i.investigation_id == action.investigation_id]
        _reject_unless(bool(found), f"no investigation {action.investigation_id}")
        _reject_unless(
            found[0].status is InvestigationStatus.ORDERED,
            f"investigation {action.investigation_id} is already completed",
        )

    def _investigation(self, investigation_id: str) -> Investigation:
        return next(i for i in self.state.investigations if i.investigation_id == investigation_id)

    # 6. assessment done --------------------------------------------------------------------------

    @workflow.update
    def complete_assessment(self, action: CompleteAssessmentInput) -> PathwayView:
        assert self.state.assessment is not None
        self.state.assessment.completed_at = workflow.now()
        self.state.assessment.summary = action.summary
        self.state.assessment.recommendation = action.recommendation
        self.state.stage = Stage.PLANNING
        self._record(EventKind.ASSESSMENT_COMPLETED, action.actor, "Assessment completed; planning begins")
        return self._after_change()

    @complete_assessment.validator
    def _validate_complete_assessment(self, action: CompleteAssessmentInput) -> None:
        self._require_stage("completing the assessment", Stage.ASSESSMENT)
        still_open = [i for i in self.state.investigations if i.status is InvestigationStatus.ORDERED]
        _reject_unless(
            not still_open,
            f"{len(still_open)} investigation(s) still open; complete them before completing the assessment",
        )

    # 7. the follow-up plan -------------------------------------------------------------------------

    @workflow.update
    def set_plan(self, action: SetPlanInput) -> PathwayView:
        now = workflow.now()
        revision = self.state.plan is not None
        kept = {service.service_id: service for service in action.services if service.service_id}
        for service in self.state.services:
            if service.service_id in kept:
                update = kept[service.service_id]
                service.kind, service.provider, service.remote = update.kind, update.provider, update.remote
                service.planned_start, service.planned_end = update.planned_start, update.planned_end
            elif service.status is ServiceStatus.PLANNED:
                # A planned service left out of a revised plan is no longer going to happen.
                service.status = ServiceStatus.CANCELLED
                service.ended_at = now
        for new in (service for service in action.services if not service.service_id):
            self.state.services.append(
                PlannedService(
                    service_id=str(workflow.uuid4()),
                    kind=new.kind,
                    provider=new.provider,
                    planned_start=new.planned_start,
                    planned_end=new.planned_end,
                    remote=new.remote,
                )
            )
        interval = action.follow_up_interval or (
            self.state.plan.follow_up_interval if self.state.plan else self.state.policy.follow_up_interval
        )
        version = self.state.plan.version + 1 if self.state.plan else 1
        self.state.plan = FollowUpPlan(version=version, set_at=now, follow_up_interval=interval, note=action.note)
        self.state.next_follow_up_due = now + interval
        if self.state.stage is Stage.PLANNING:
            self.state.stage = Stage.IN_SERVICES
        kind = EventKind.PLAN_REVISED if revision else EventKind.PLAN_SET
        self._record(kind, action.actor, f"Follow-up plan v{version}: {len(action.services)} service(s)")
        return self._after_change()

    @set_plan.validator
    def _validate_set_plan(self, action: SetPlanInput) -> None:
        self._require_stage("setting the follow-up plan", Stage.PLANNING, Stage.IN_SERVICES)
        current = {service.service_id: service for service in self.state.services}
        for service in action.services:
            if service.service_id is not None:
                _reject_unless(service.service_id in current, f"no service {service.service_id} in the current plan")
                _reject_unless(
                    current[service.service_id].status not in ENDED_SERVICE_STATUSES,
                    f"service {service.service_id} has ended and cannot be kept in a new plan",
                )
        listed = {service.service_id for service in action.services}
        for existing in self.state.services:
            _reject_unless(
                existing.status is not ServiceStatus.ACTIVE or existing.service_id in listed,
                f"active service {existing.service_id} is missing from the plan; keep it or end it first",
            )

    # 8. services ------------------------------------------------------------------------------------

    _SERVICE_TRANSITIONS = {
        ServiceStatusChange.STARTED: (
            {ServiceStatus.PLANNED},
            ServiceStatus.ACTIVE,
            EventKind.SERVICE_STARTED,
        ),
        ServiceStatusChange.COMPLETED: (
            {ServiceStatus.ACTIVE},
            ServiceStatus.COMPLETED,
            EventKind.SERVICE_COMPLETED,
        ),
        ServiceStatusChange.INTERRUPTED: (
            {ServiceStatus.ACTIVE},
            ServiceStatus.INTERRUPTED,
            EventKind.SERVICE_INTERRUPTED,
        ),
        ServiceStatusChange.CANCELLED: (
            {ServiceStatus.PLANNED},
            ServiceStatus.CANCELLED,
            EventKind.SERVICE_CANCELLED,
        ),
    }

    @workflow.update
    def update_service(self, action: UpdateServiceInput) -> PathwayView:
        service = next(s for s in self.state.services if s.service_id == action.service_id)
        _, new_status, event_kind = self._SERVICE_TRANSITIONS[action.change]
        now = workflow.now()
        service.status = new_status
        if new_status is ServiceStatus.ACTIVE:
            service.started_at = now
        else:
            service.ended_at = now
        self._record(
            event_kind,
            action.actor,
            f"Service {service.kind.value} {new_status.value} ({service.service_id[:8]})",
            service_id=service.service_id,
            service_kind=service.kind.value,
        )
        return self._after_change()

    @update_service.validator
    def _validate_update_service(self, action: UpdateServiceInput) -> None:
        self._require_stage("updating a service", Stage.IN_SERVICES, Stage.SUSTAINMENT)
        found = [s for s in self.state.services if s.service_id == action.service_id]
        _reject_unless(bool(found), f"no service {action.service_id} in the plan")
        allowed_from, _, _ = self._SERVICE_TRANSITIONS[action.change]
        _reject_unless(
            found[0].status in allowed_from,
            f"a {found[0].status.value} service cannot be marked {action.change.value}",
        )

    # 9. follow-up contact -----------------------------------------------------------------------------

    @workflow.update
    def record_follow_up(self, action: RecordFollowUpInput) -> PathwayView:
        contacted_at = action.contacted_at or workflow.now()
        self.state.follow_ups.append(
            FollowUp(contacted_at=contacted_at, channel=action.channel, note=action.note, recorded_by=action.actor)
        )
        if self.state.plan is not None:
            self.state.next_follow_up_due = max(contacted_at, workflow.now()) + self.state.plan.follow_up_interval
        self._record(
            EventKind.FOLLOW_UP_RECORDED,
            action.actor,
            f"Follow-up contact ({action.channel.value})",
            channel=action.channel.value,
        )
        return self._after_change()

    @record_follow_up.validator
    def _validate_record_follow_up(self, action: RecordFollowUpInput) -> None:
        self._require_open()
        self._require_case_manager("recording a follow-up")
        self._require_not_future(action.contacted_at, "contacted_at")

    # 10. team review -----------------------------------------------------------------------------------

    @workflow.update
    def request_team_review(self, action: RequestTeamReviewInput) -> PathwayView:
        self._open_team_review(TeamReviewCause.REQUESTED_BY_STAFF, action.reason, action.actor)
        return self._after_change()

    @request_team_review.validator
    def _validate_request_team_review(self, action: RequestTeamReviewInput) -> None:
        self._require_open()
        _reject_unless(
            not any(r.cause is TeamReviewCause.REQUESTED_BY_STAFF for r in self.state.pending_team_reviews()),
            "a team review requested by staff is already pending",
        )

    @workflow.update
    def decide_team_review(self, action: DecideTeamReviewInput) -> PathwayView:
        # The team handles the case as a whole: one decision settles every pending review item.
        for review in self.state.pending_team_reviews():
            self._decide_review(review, action.actor, action.decision, action.note)
        now = workflow.now()
        if action.decision is TeamReviewDecision.REASSESS:
            self._leave_sustainment_without_hold()
            previous = self.state.assessment
            self.state.assessment = Assessment(
                route=previous.route if previous else TriageRoute.EXTENDED_ASSESSMENT,
                level=previous.level if previous else None,
                started_at=now,
            )
            self.state.stage = Stage.ASSESSMENT
        elif action.decision is TeamReviewDecision.CHANGE_CASE_MANAGER:
            assert action.new_case_manager is not None
            self._assign_case_manager(action.new_case_manager, action.actor, "team review decision")
        elif action.decision is TeamReviewDecision.REVISE_PLAN:
            self._leave_sustainment_without_hold()
            self.state.stage = Stage.PLANNING
        elif action.decision is TeamReviewDecision.CLOSE:
            assert action.closure_reason is not None
            self._close(action.closure_reason, action.note, action.actor)
        if self.state.case_manager is not None and self.state.stage is not Stage.CLOSED:
            self._notify_case_manager(NotificationKind.TEAM_REVIEW_DECIDED, self.state.case_manager)
        return self._after_change()

    @decide_team_review.validator
    def _validate_decide_team_review(self, action: DecideTeamReviewInput) -> None:
        self._require_open()
        _reject_unless(self.state.team_review_pending, "no team review is pending on this pathway")
        decision = action.decision
        if decision in (TeamReviewDecision.REASSESS, TeamReviewDecision.REVISE_PLAN):
            _reject_unless(
                self.state.stage is not Stage.AWAITING_TRIAGE,
                f"{decision.value} needs a triaged pathway; triage it first",
            )
        if decision is TeamReviewDecision.REVISE_PLAN:
            _reject_unless(
                self.state.stage is not Stage.ASSESSMENT,
                "revise_plan needs a completed assessment; complete the assessment first",
            )
        if decision is TeamReviewDecision.CHANGE_CASE_MANAGER:
            self._require_case_manager("changing the case manager")
            _reject_unless(
                action.new_case_manager != self.state.case_manager,
                f"{action.new_case_manager} is already the case manager",
            )

    # 11. outcome and sustainment --------------------------------------------------------------------------

    @workflow.update
    def record_outcome(self, action: RecordOutcomeInput) -> PathwayView:
        now = workflow.now()
        self.state.outcome = Outcome(
            solution=action.solution,
            description=action.description,
            recorded_at=now,
            sustainment_until=now + self.state.policy.sustainment_period,
        )
        self.state.stage = Stage.SUSTAINMENT
        self._record(
            EventKind.OUTCOME_RECORDED,
            action.actor,
            f"Long-term solution: {action.solution.value}",
            solution=action.solution.value,
        )
        return self._after_change()

    @record_outcome.validator
    def _validate_record_outcome(self, action: RecordOutcomeInput) -> None:
        self._require_stage("recording the long-term solution", Stage.PLANNING, Stage.IN_SERVICES)
        self._require_not_future(action.started_at, "started_at")

    @workflow.update
    def confirm_sustainment(self, action: ConfirmSustainmentInput) -> PathwayView:
        assert self.state.outcome is not None
        self.state.outcome.confirmed_at = workflow.now()
        self.state.outcome.held = action.held
        if action.held:
            self._record(
                EventKind.SUSTAINMENT_CONFIRMED,
                action.actor,
                "The long-term solution held",
                solution=self.state.outcome.solution.value,
            )
            self._close(ClosureReason.COMPLETED, action.note, action.actor)
        else:
            self._record(
                EventKind.SOLUTION_DID_NOT_HOLD,
                action.actor,
                "The long-term solution did not hold",
                solution=self.state.outcome.solution.value,
            )
            self._leave_sustainment_without_hold()
            self.state.stage = Stage.IN_SERVICES
            self._open_team_review(TeamReviewCause.SOLUTION_DID_NOT_HOLD, action.note, action.actor)
        return self._after_change()

    @confirm_sustainment.validator
    def _validate_confirm_sustainment(self, action: ConfirmSustainmentInput) -> None:
        self._require_stage("confirming the solution", Stage.SUSTAINMENT)
        assert self.state.outcome is not None
        if action.held:
            until = self.state.outcome.sustainment_until
            _reject_unless(
                workflow.now() >= until,
                f"the sustainment period runs until {until.isoformat()}; "
                "a solution can be confirmed as held only after it (report one that did not hold at any time)",
            )

    def _leave_sustainment_without_hold(self) -> None:
        if self.state.outcome is not None and self.state.stage is Stage.SUSTAINMENT:
            self.state.past_outcomes.append(self.state.outcome)
            self.state.outcome = None

    # 12. closing -----------------------------------------------------------------------------------------

    @workflow.update
    def close(self, action: CloseInput) -> PathwayView:
        self._close(action.reason, action.note, action.actor)
        return self._after_change()

    @close.validator
    def _validate_close(self, action: CloseInput) -> None:
        self._require_open()

    # 13. client feedback ----------------------------------------------------------------------------------

    @workflow.update
    def record_feedback(self, action: RecordFeedbackInput) -> PathwayView:
        self.state.feedback.append(
            Feedback(
                rating=action.rating,
                comment=action.comment,
                recorded_at=workflow.now(),
                recorded_by=action.actor,
            )
        )
        self._record(
            EventKind.FEEDBACK_RECORDED,
            action.actor,
            f"Client feedback recorded (rating {action.rating})",
            rating=str(action.rating),
        )
        return self._after_change()

    @record_feedback.validator
    def _validate_record_feedback(self, action: RecordFeedbackInput) -> None:
        self._require_open()

    # ------------------------------------------------------------------------------------------
    # State changes shared by several actions
    # ------------------------------------------------------------------------------------------

    def _after_change(self) -> PathwayView:
        # Publish in the same workflow task as the update's result, so a listing right after an action
        # already shows it.
        self._publish_status()
        return self.state.view()

    def _record(self, kind: EventKind, actor: str, summary: str, **details: str) -> None:
        self.state.last_event_sequence += 1
        self.state.events.append(
            PathwayEvent(
                sequence=self.state.last_event_sequence,
                at=workflow.now(),
                actor=actor,
                kind=kind,
                summary=summary,
                stage=self.state.stage,
                details=details,
            )
        )
        self._changes += 1

    def _idempotency_key(self, purpose: str) -> str:
        # The event sequence is unique over the pathway's whole life (carried through continue-as-new).
        return f"{self.state.pathway_id}:{self.state.last_event_sequence}:{purpose}"

    def _assign_case_manager(self, new: str, actor: str, reason: str) -> None:
        now = workflow.now()
        previous = self.state.case_manager
        for period in self.state.case_manager_history:
            if period.renounced_at is None:
                period.renounced_at = now
        self.state.case_manager_history.append(CaseManagerPeriod(staff_id=new, assumed_at=now, reason=reason))
        self.state.case_manager = new
        if previous is None:
            self._record(EventKind.CASE_MANAGER_ASSIGNED, actor, f"Case manager: {new}", case_manager=new)
            self._notify_case_manager(NotificationKind.ASSIGNED_CASE_MANAGER, new)
        else:
            # A safe handover: both the previous and the new case manager know.
            self._record(
                EventKind.CASE_MANAGER_CHANGED,
                actor,
                f"Case manager: {previous} -> {new}",
                previous_case_manager=previous,
                case_manager=new,
            )
            self._notify_case_manager(NotificationKind.HANDOVER_FROM, previous)
            self._notify_case_manager(NotificationKind.HANDOVER_TO, new)

    def _open_team_review(self, cause: TeamReviewCause, reason: str, opened_by: str) -> TeamReview:
        review = TeamReview(
            review_id=str(workflow.uuid4()),
            cause=cause,
            reason=reason,
            opened_by=opened_by,
            opened_at=workflow.now(),
        )
        self.state.team_reviews.append(review)
        self._record(
            EventKind.TEAM_REVIEW_OPENED,
            opened_by,
            f"Team review requested: {cause.value}",
            review_id=review.review_id,
            cause=cause.value,
        )
        escalation = EscalateToTeamReviewInput(
            pathway_id=self.state.pathway_id,
            team=self.state.intake.team,
            idempotency_key=self._idempotency_key(f"escalate:{review.review_id}"),
            review_id=review.review_id,
            cause=cause,
            reason=reason,
            opened_by=opened_by,
            opened_at=review.opened_at,
            case_manager=self.state.case_manager,
        )
        self._queue(f"escalate to team review: {cause.value}", ESCALATE_TO_TEAM_REVIEW, escalation)
        return review

    def _decide_review(self, review: TeamReview, actor: str, decision: TeamReviewDecision, note: str) -> None:
        review.decided_at = workflow.now()
        review.decided_by = actor
        review.decision = decision
        review.decision_note = note
        self._record(
            EventKind.TEAM_REVIEW_DECIDED,
            actor,
            f"Team review ({review.cause.value}): {decision.value}",
            review_id=review.review_id,
            cause=review.cause.value,
            decision=decision.value,
        )

    def _close(self, reason: ClosureReason, note: str, actor: str) -> None:
        now = workflow.now()
        self.state.closure = Closure(reason=reason, note=note, closed_at=now, closed_by=actor)
        for period in self.state.case_manager_history:
            if period.renounced_at is None:
                period.renounced_at = now
        for service in self.state.services:
            if service.status is ServiceStatus.PLANNED:
                service.status = ServiceStatus.CANCELLED
                service.ended_at = now
        # Pathways closed by older code kept their pending reviews; replaying them must do the same.
        if workflow.patched(PATCH_CLOSE_SETTLES_TEAM_REVIEWS):
            for review in self.state.pending_team_reviews():
                self._decide_review(review, actor, TeamReviewDecision.CLOSE, "the pathway was closed")
        self.state.stage = Stage.CLOSED
        self._record(
            EventKind.CLOSED,
            actor,
            f"Pathway closed: {reason.value}",
            closure_reason=reason.value,
            solution=self.state.outcome.solution.value if self.state.outcome else "",
        )

    # ------------------------------------------------------------------------------------------
    # Deadlines
    # ------------------------------------------------------------------------------------------

    def _fire_deadline(self, deadline: Deadline) -> None:
        self.state.fired_deadline_keys.append(deadline.key)
        self._changes += 1
        case_manager = self.state.case_manager
        kind = deadline.kind
        if kind is DeadlineKind.TRIAGE_DUE:
            self._escalate_once(TeamReviewCause.TRIAGE_OVERDUE, "triage is overdue")
        elif kind is DeadlineKind.ASSESSMENT_DUE:
            self._escalate_once(TeamReviewCause.ASSESSMENT_OVERDUE, "the assessment is taking too long")
        elif kind is DeadlineKind.FOLLOW_UP_REMINDER and case_manager:
            self._record(EventKind.FOLLOW_UP_REMINDER_SENT, SYSTEM_ACTOR, "Follow-up due soon: case manager reminded")
            self._notify_case_manager(NotificationKind.FOLLOW_UP_DUE_SOON, case_manager, self.state.next_follow_up_due)
        elif kind is DeadlineKind.FOLLOW_UP_OVERDUE:
            if case_manager:
                self._notify_case_manager(
                    NotificationKind.FOLLOW_UP_OVERDUE, case_manager, self.state.next_follow_up_due
                )
            self._escalate_once(TeamReviewCause.FOLLOW_UP_OVERDUE, "the follow-up contact is overdue")
        elif kind is DeadlineKind.SERVICE_GAP_NOTICE and case_manager:
            self._record(EventKind.SERVICE_GAP_NOTICED, SYSTEM_ACTOR, "Service gap: no active service")
            self._notify_case_manager(NotificationKind.SERVICE_GAP, case_manager)
        elif kind is DeadlineKind.SERVICE_GAP_ESCALATION:
            self._escalate_once(TeamReviewCause.SERVICE_GAP, "the client has been without services too long")
        elif kind is DeadlineKind.SUSTAINMENT_CHECK and case_manager:
            self._record(EventKind.SUSTAINMENT_CHECK_REQUESTED, SYSTEM_ACTOR, "Sustainment period ended: confirm")
            self._notify_case_manager(NotificationKind.SUSTAINMENT_CHECK_DUE, case_manager, deadline.due_at)
        elif kind is DeadlineKind.SUSTAINMENT_UNCONFIRMED:
            self._escalate_once(TeamReviewCause.SUSTAINMENT_UNCONFIRMED, "the solution was not confirmed in time")

    def _escalate_once(self, cause: TeamReviewCause, reason: str) -> None:
        if any(review.cause is cause for review in self.state.pending_team_reviews()):
            return
        self._open_team_review(cause, reason, SYSTEM_ACTOR)

    # ------------------------------------------------------------------------------------------
    # Effects
    # ------------------------------------------------------------------------------------------

    def _queue(self, summary: str, activity: str, arg: Any) -> None:
        self._effects.append(_Effect(summary=summary, activity=activity, arg=arg))

    def _notify_case_manager(self, kind: NotificationKind, recipient: str, due_at: datetime | None = None) -> None:
        notification = NotifyCaseManagerInput(
            pathway_id=self.state.pathway_id,
            team=self.state.intake.team,
            idempotency_key=self._idempotency_key(f"{kind.value}:{recipient}"),
            recipient=recipient,
            kind=kind,
            due_at=due_at,
        )
        self._queue(f"notify {recipient}: {kind.value}", NOTIFY_CASE_MANAGER, notification)

    def _notify_team(self, kind: NotificationKind, due_at: datetime | None = None) -> None:
        notification = NotifyTeamInput(
            pathway_id=self.state.pathway_id,
            team=self.state.intake.team,
            idempotency_key=self._idempotency_key(f"{kind.value}:team"),
            kind=kind,
            client_language=self.state.intake.client_language,
            due_at=due_at,
        )
        self._queue(f"notify team {self.state.intake.team}: {kind.value}", NOTIFY_TEAM, notification)

    # ------------------------------------------------------------------------------------------
    # What coordinators see in the Web UI
    # ------------------------------------------------------------------------------------------

    def _publish_status(self) -> None:
        state = self.state
        upcoming = deadlines.next_deadline(state)
        updates: list[SearchAttributeUpdate[Any]] = [
            search_attributes.PATHWAY_STAGE.value_set(state.stage.value),
            search_attributes.PATHWAY_TEAM.value_set(state.intake.team),
            search_attributes.TEAM_REVIEW_PENDING.value_set(state.team_review_pending),
            search_attributes.PATHWAY_OVERDUE.value_set(deadlines.is_overdue(state)),
            search_attributes.DEMO_DATA.value_set(state.intake.demo),
            search_attributes.CASE_MANAGER.value_set(state.case_manager)
            if state.case_manager
            else search_attributes.CASE_MANAGER.value_unset(),
            search_attributes.TRIAGE_ROUTE.value_set(state.assessment.route.value)
            if state.assessment
            else search_attributes.TRIAGE_ROUTE.value_unset(),
            search_attributes.NEXT_DEADLINE.value_set(upcoming.due_at)
            if upcoming
            else search_attributes.NEXT_DEADLINE.value_unset(),
            search_attributes.NEXT_DEADLINE_KIND.value_set(upcoming.kind.value)
            if upcoming
            else search_attributes.NEXT_DEADLINE_KIND.value_unset(),
        ]
        # Upsert only what changed: every upsert is an event in a history that lives for years.
        changed = [update for update in updates if self._published.get(update.key.name) != update.value]
        if changed:
            workflow.upsert_search_attributes(changed)
            for update in changed:
                self._published[update.key.name] = update.value
        workflow.set_current_details(_status_markdown(state, upcoming))


def _status_markdown(state: PathwayState, upcoming: Deadline | None) -> str:
    lines = [
        f"**Stage:** {state.stage.value}",
        f"**Team:** {state.intake.team}",
        f"**Case manager:** {state.case_manager or '—'}",
    ]
    if state.assessment:
        level = f" ({state.assessment.level.value})" if state.assessment.level else ""
        lines.append(f"**Route:** {state.assessment.route.value}{level}")
    active = sum(1 for service in state.services if service.status is ServiceStatus.ACTIVE)
    if state.services:
        lines.append(f"**Services:** {active} active of {len(state.services)}")
    if state.team_review_pending:
        causes = ", ".join(review.cause.value for review in state.pending_team_reviews())
        lines.append(f"**Team review pending:** {causes}")
    if upcoming:
        lines.append(f"**Next:** {upcoming.kind.value} at {upcoming.due_at:%Y-%m-%d %H:%M} UTC")
    if state.closure:
        lines.append(f"**Closed:** {state.closure.reason.value}")
    return "  \n".join(lines)
