"""The client pathway: one long-running workflow per pathway, from referral until a solution holds.

A thin durable shell around `workflows.rules`. Staff act through updates named after the actions of
`workflows.actions` (one dynamic handler, each action's validator first: an impossible action is refused
with its reason before it enters the history). Deadlines come from `workflows.deadlines`. What a
transition decides (events, notices) waits in the state until the main loop hands it, in one activity per
batch, to the database; the activity is scheduled by a command, so nothing leaves the system for a decision
that is not durably in the history. The exceptions are decisions that follow from the history alone, written
by a local activity in their own workflow task (one task instead of a task, an activity task and another
task): a new pathway's referral follows from the start event, and a deadline that fell due follows from the
state before the task (durable) and its timer's event or the clock, provided no staff action was handled in
the same task (its update is not in the history until the task completes). A staff action's decisions go
back in its update's answer when the caller files the record itself (the staff API, in its audit line's
transaction): the answer leaves the server only once its task is in the history, so no activity and no
second task are needed, and the next action or deadline learns they are filed. A retried task decides the
same rows and notices with the same keys, which the store and the outbox ignore. Recorded events leave the
state: it stays bounded whatever the age.

Deterministic: time from `workflow.now()`, ids from `workflow.uuid4()`, no I/O. A change that alters the
commands a saved history produced needs `workflow.patched` (README, "Changing workflow code").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from models.actions import StaffActor
    from models.effects import (
        MAX_EVENTS_PER_BATCH,
        MAX_NOTICES_PER_BATCH,
        RECORD_PATHWAY_CHANGES,
        ActionOutcome,
        RecordBatch,
        RecordResult,
    )
    from models.process import (
        MAX_RECENT_ACTION_KEYS,
        ActionAnswer,
        Deadline,
        PathwayClosing,
        PathwayStart,
        ProcessState,
        ProcessStatus,
    )
    from workflows import deadlines, rules, search_attributes
    from workflows.actions import BY_NAME, StaffAction
    from workflows.rules import Decision, Refusal

WORKFLOW_NAME = "Pathway"
INVALID_PATHWAY_ACTION = "InvalidPathwayAction"
# Writing the record must eventually happen: retried without a limit on attempts while the database is
# down; an input the activity can never write (a bug) fails non-retryably and is logged, not looped on.
RECORD_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=("InvalidRecordBatch",),
)
RECORD_TIMEOUT = timedelta(seconds=30)
# Inside a workflow task a few quick attempts only: a database that stays down is the main loop's to wait for.
IN_TASK_RETRY_POLICY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
# Deadlines fired in one workflow task; more wait for the next turn of the main loop.
MAX_DEADLINES_AT_ONCE = 20
# Runs begun before dated commitments, warm hand-over and transitions (version-5 histories) have no marker.
PATCH_SAFE_TRANSITIONS = "safe-transitions"
# Runs whose deadlines were all recorded by the main loop's activity (before 2026-12-01) have no marker.
PATCH_DEADLINES_RECORDED_IN_THEIR_TASK = "deadlines-recorded-in-their-task"
# Every change above: a pathway this code starts, and each run it continues into, is begun with them in force
# (`PathwayStart.patches_in_force`), so no run of it writes their markers. A new patch goes here as well.
PATCHES_IN_FORCE = (PATCH_SAFE_TRANSITIONS, PATCH_DEADLINES_RECORDED_IN_THEIR_TASK)


class InvalidPathwayAction(ApplicationError):
    """Raised by the validator; the API shows `message` to staff as the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type=INVALID_PATHWAY_ACTION, non_retryable=True)


@workflow.defn(name=WORKFLOW_NAME)
class PathwayWorkflow:
    @workflow.init
    def __init__(self, start: PathwayStart) -> None:
        self._changes = 0
        self._patches_in_force = frozenset(start.patches_in_force)
        # What this run's search attributes hold now: a new run starts with what the start or the previous
        # run set, so only what changes is upserted (every upsert is an event in a history that lives for years).
        self._published: dict[str, Any] = {
            pair.key.name: pair.value for pair in workflow.info().typed_search_attributes
        }
        self._start_batch: RecordBatch | None = None
        # The history length when a staff action was last handled: a task of that length holds an update that is
        # not durable yet, so a deadline fired in it is recorded after the task, by the main loop's activity.
        self._action_task = -1
        if start.carried is not None:
            # Continue-as-new: the bounded process came along; unrecorded decisions with it.
            self.state = start.carried
            self.state.runs += 1
            self.state.safe_transitions = self._patched(PATCH_SAFE_TRANSITIONS)
            return
        if start.intake is None or start.registered_by is None:
            raise ApplicationError("a new pathway needs its intake and who registered it", non_retryable=True)
        self.state, decision = rules.start(
            start.intake,
            pathway_id=workflow.info().workflow_id,
            registered_by=start.registered_by,
            policy=start.policy,
            now=workflow.now(),
        )
        self.state.safe_transitions = self._patched(PATCH_SAFE_TRANSITIONS)
        self._take(decision)
        # Only what the start decided: an update handled in the same first task is not durable yet.
        self._start_batch = RecordBatch(
            pathway_id=self.state.pathway_id,
            team=self.state.team,
            events=decision.events,
            notices=decision.notices,
            status=self._status(),
        )

    # ------------------------------------------------------------------------------------------
    # Main loop
    # ------------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: PathwayStart) -> PathwayClosing:
        await self._record_start()
        while True:
            await self._record_decisions()
            self._publish_status()
            if self.state.is_closed and self._settled():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._settled():
                    return self._closing()
                continue
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                # Whatever is still unrecorded (the database is down) travels in the state to the next run.
                workflow.continue_as_new(PathwayStart(carried=self.state, patches_in_force=list(PATCHES_IN_FORCE)))
            if self._settled():
                await self._wait_for_change_or_deadline()

    def _settled(self) -> bool:
        """Nothing decided waits for the main loop's activity. What an action's answer handed to the staff API is
        the API's to file while the pathway is open; a closed pathway files it again itself before it ends (the
        store ignores what is there already), so no decision is left behind with a completed workflow."""
        state = self.state
        status = self._status()
        if state.is_closed:
            return not state.unrecorded_events and not state.pending_notices and state.recorded_status == status
        handed_notices = set(state.handed_notices)
        return (
            all(event.sequence <= state.handed_upto for event in state.unrecorded_events)
            and all(notice.key in handed_notices for notice in state.pending_notices)
            and status in (state.recorded_status, state.handed_status)
        )

    async def _wait_for_change_or_deadline(self) -> None:
        seen = self._changes
        upcoming = deadlines.next_deadline(self.state)
        if upcoming is None:
            await workflow.wait_condition(lambda: self._changes != seen)
            return
        # A deadline already passed (e.g. after a long outage) fires at once without a timer.
        remaining = upcoming.due_at - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(
                    lambda: self._changes != seen,
                    timeout=remaining,
                    timeout_summary=f"{upcoming.kind.value} due {upcoming.due_at:%Y-%m-%d %H:%M} UTC",
                )
                return
            except TimeoutError:
                pass
        self._fire(upcoming)
        if not self.state.safe_transitions:
            return
        # Whatever else is due by now fires in the same task (many at once after an outage), recorded in one batch.
        for _ in range(MAX_DEADLINES_AT_ONCE - 1):
            due = deadlines.due_now(self.state, workflow.now())
            if not due:
                break
            self._fire(due[0])
        batch = self._deadline_batch()
        if batch is not None:
            await self._record_in_this_task(batch, summary=f"record {upcoming.kind.value}")

    def _deadline_batch(self) -> RecordBatch | None:
        """What the deadlines just fired decided, when it may be recorded in this task: the state was settled
        before them (waiting is only entered settled, so everything unrecorded is theirs, or an earlier action's
        that its answer handed to the API, durable as well and filed again harmlessly) and no staff action was
        handled in this task. Otherwise, or for a batch too large for one write, the main loop's activity."""
        state = self.state
        if self._action_task == workflow.info().get_current_history_length():
            return None
        if len(state.unrecorded_events) > MAX_EVENTS_PER_BATCH or len(state.pending_notices) > MAX_NOTICES_PER_BATCH:
            return None
        if not self._patched(PATCH_DEADLINES_RECORDED_IN_THEIR_TASK):
            return None
        return RecordBatch(
            pathway_id=state.pathway_id,
            team=state.team,
            events=list(state.unrecorded_events),
            notices=list(state.pending_notices),
            status=self._status(),
        )

    def _patched(self, patch_id: str) -> bool:
        """Whether this run takes the change: in force from its start, or else as `workflow.patched` decides."""
        return patch_id in self._patches_in_force or workflow.patched(patch_id)

    def _history_is_long(self) -> bool:
        info = workflow.info()
        policy = self.state.policy
        return (
            info.get_current_history_length() >= policy.continue_as_new_after_events
            or info.get_current_history_size() >= policy.continue_as_new_after_bytes
            or info.is_continue_as_new_suggested()
        )

    async def _record_start(self) -> None:
        """The referral and the team's notice, written in the first workflow task."""
        batch = self._start_batch
        if batch is None:
            return
        self._start_batch = None
        await self._record_in_this_task(batch, summary="record the referral")

    async def _record_in_this_task(self, batch: RecordBatch, *, summary: str) -> None:
        """Write decisions that follow from the history alone by a local activity in the current task."""
        try:
            await workflow.execute_local_activity(
                RECORD_PATHWAY_CHANGES,
                batch,
                result_type=RecordResult,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=IN_TASK_RETRY_POLICY,
                summary=summary,
            )
        except ActivityError as err:
            # The database was not reachable for long: the main loop records the same decisions by an activity.
            workflow.logger.warning("%s of %s in its task failed: %s", summary, batch.pathway_id, err)
            return
        self._recorded(batch)

    def _recorded(self, batch: RecordBatch) -> None:
        """Recorded events leave the state; the notices sent leave the queue."""
        state = self.state
        upto = batch.events[-1].sequence if batch.events else state.recorded_event_sequence
        recorded_keys = {notice.key for notice in batch.notices}
        state.unrecorded_events = [event for event in state.unrecorded_events if event.sequence > upto]
        state.pending_notices = [notice for notice in state.pending_notices if notice.key not in recorded_keys]
        state.recorded_event_sequence = max(state.recorded_event_sequence, upto)
        state.handed_notices = [key for key in state.handed_notices if key not in recorded_keys]
        # The status may have moved on meanwhile; the main loop records it again if so.
        if batch.status is not None:
            state.recorded_status = batch.status

    async def _record_decisions(self) -> None:
        """Write what was decided so far to the database, in batches; recorded events leave the state."""
        while not self._settled():
            state = self.state
            events = state.unrecorded_events[:MAX_EVENTS_PER_BATCH]
            upto = events[-1].sequence if events else state.recorded_event_sequence
            # A notice goes with the batch that holds the events before it was decided (all of them, when the
            # batch empties the queue).
            notices = (
                state.pending_notices[:MAX_NOTICES_PER_BATCH] if len(events) == len(state.unrecorded_events) else []
            )
            status = self._status()
            batch = RecordBatch(
                pathway_id=state.pathway_id,
                team=state.team,
                events=events,
                notices=notices,
                status=status if status != state.recorded_status else None,
            )
            first = events[0].sequence if events else None
            try:
                await workflow.execute_activity(
                    RECORD_PATHWAY_CHANGES,
                    batch,
                    result_type=RecordResult,
                    start_to_close_timeout=RECORD_TIMEOUT,
                    retry_policy=RECORD_RETRY_POLICY,
                    summary=f"record events {first}-{upto}" if first is not None else "record status",
                )
            except ActivityError as err:
                # Only a batch the database can never take fails for good (a defect, not an outage). Failing the
                # pathway would lose it; keep the decisions, say so, and try again after a pause or a change.
                workflow.logger.error("Recording %s failed for good, retrying in an hour: %s", batch.pathway_id, err)
                await self._pause_after_refused_batch()
                continue
            self._recorded(batch.model_copy(update={"status": status}))

    async def _pause_after_refused_batch(self) -> None:
        seen = self._changes
        try:
            await workflow.wait_condition(lambda: self._changes != seen, timeout=timedelta(hours=1))
        except TimeoutError:
            pass

    def _closing(self) -> PathwayClosing:
        closure = self.state.closure
        return PathwayClosing(
            pathway_id=self.state.pathway_id,
            closure_reason=closure.reason if closure else None,
            closed_at=closure.closed_at if closure else None,
            last_event_sequence=self.state.last_event_sequence,
            runs=self.state.runs,
        )

    # ------------------------------------------------------------------------------------------
    # Staff actions: one handler for every action of `workflows.actions`
    # ------------------------------------------------------------------------------------------

    @workflow.update(dynamic=True)
    def act(self, name: str, args: Sequence[RawValue]) -> ActionAnswer:
        action, actor, fields = self._decode(name, args)
        if actor.files_record:
            self._confirm_handed(actor.recorded_sequence)
        update = workflow.current_update_info()
        key = update.id if update is not None else str(workflow.uuid4())
        if key in self.state.recent_action_keys:
            # The same action retried after continue-as-new (Temporal de-duplicates within a run only).
            return self._outcome(Decision(), actor, repeated=True)
        self.state, decision = rules.decide(
            self.state,
            action.apply,
            fields,
            now=workflow.now(),
            new_id=self._new_id,
            cause=f"update:{key}",
            actor=actor.actor,
        )
        self.state.recent_action_keys = [*self.state.recent_action_keys, key][-MAX_RECENT_ACTION_KEYS:]
        self._action_task = workflow.info().get_current_history_length()
        self._take(decision)
        # In the same workflow task as the answer, so the Web UI's lists show the action at once.
        self._publish_status()
        return self._outcome(decision, actor)

    def _outcome(self, decision: Decision, actor: StaffActor, *, repeated: bool = False) -> ActionAnswer:
        answer = self._answer(decision, repeated=repeated)
        if not actor.files_record:
            return answer
        return ActionOutcome(**dict(answer), record=self._hand_over_record())

    def _hand_over_record(self) -> RecordBatch | None:
        """Everything unrecorded, for the caller to file: the answer reaches it only once this task is in the
        history, so all of it is durable by then (earlier tasks' decisions and this one's). None when there is
        no event to hand (a retried action's, or the database far behind: the main loop's activity files it)."""
        state = self.state
        events, notices = state.unrecorded_events, state.pending_notices
        if not events or len(events) > MAX_EVENTS_PER_BATCH or len(notices) > MAX_NOTICES_PER_BATCH:
            return None
        status = self._status()
        state.handed_upto = events[-1].sequence
        state.handed_notices = [notice.key for notice in notices]
        state.handed_status = status
        return RecordBatch(
            pathway_id=state.pathway_id, team=state.team, events=list(events), notices=list(notices), status=status
        )

    def _confirm_handed(self, recorded_sequence: int) -> None:
        """The caller read the record filed up to `recorded_sequence`: what the last answer handed over is filed
        if that reaches it (the API files events, notices and status in one transaction). If not (the API died
        before its commit), it stays unrecorded and this action's answer hands it over again."""
        state = self.state
        if state.handed_upto <= state.recorded_event_sequence or recorded_sequence < state.handed_upto:
            return
        self._recorded(
            RecordBatch(
                pathway_id=state.pathway_id,
                team=state.team,
                events=[event for event in state.unrecorded_events if event.sequence <= state.handed_upto],
                notices=[notice for notice in state.pending_notices if notice.key in set(state.handed_notices)],
                status=state.handed_status,
            )
        )

    @act.validator
    def _validate_act(self, name: str, args: Sequence[RawValue]) -> None:
        action, actor, fields = self._decode(name, args)
        try:
            rules.require_record_keeping_up(self.state)
            action.validate(self.state, fields, workflow.now(), actor.actor)
        except Refusal as refusal:
            raise InvalidPathwayAction(refusal.reason) from None

    def _decode(self, name: str, args: Sequence[RawValue]) -> tuple[StaffAction[Any], StaffActor, Any]:
        action = BY_NAME.get(name)
        if action is None:
            raise InvalidPathwayAction(f"{name!r} is not an action of a pathway")
        if len(args) != 2:
            raise InvalidPathwayAction(f"{name} takes two arguments: the acting staff member and the action")
        converter = workflow.payload_converter()
        try:
            actor = converter.from_payload(args[0].payload, StaffActor)
            fields = converter.from_payload(args[1].payload, action.fields)
        except (ValidationError, ValueError, TypeError) as err:
            raise InvalidPathwayAction(f"{name}: the action's fields are not valid: {err}") from None
        return action, actor, fields

    def _answer(self, decision: Decision, *, repeated: bool = False) -> ActionAnswer:
        state = self.state
        return ActionAnswer(
            pathway_id=state.pathway_id,
            stage=state.stage,
            case_manager=state.case_manager,
            handover_to=state.handover.to if state.handover else None,
            team_review_pending=state.team_review_pending,
            overdue=deadlines.is_overdue(state),
            next_deadline=deadlines.next_deadline(state),
            last_event_sequence=state.last_event_sequence,
            created_ids=decision.created_ids,
            warnings=decision.warnings,
            repeated=repeated,
        )

    def _new_id(self) -> str:
        return str(workflow.uuid4())

    # ------------------------------------------------------------------------------------------
    # Queries: the live process (the record is read from the database)
    # ------------------------------------------------------------------------------------------

    @workflow.query
    def get_process(self) -> ProcessState:
        """The bounded process, with what has been decided but not yet recorded in the database."""
        return self.state

    # ------------------------------------------------------------------------------------------
    # Deadlines and decisions
    # ------------------------------------------------------------------------------------------

    def _fire(self, deadline: Deadline) -> None:
        self.state, decision = rules.fire(self.state, deadline, now=workflow.now(), new_id=self._new_id)
        self._take(decision)

    def _take(self, decision: Decision) -> None:
        self.state.unrecorded_events.extend(decision.events)
        self.state.pending_notices.extend(decision.notices)
        self._changes += 1

    def _status(self) -> ProcessStatus:
        return deadlines.status_of(self.state)

    # ------------------------------------------------------------------------------------------
    # What coordinators see in the Web UI
    # ------------------------------------------------------------------------------------------

    def _publish_status(self) -> None:
        status = self._status()
        updates = search_attributes.status_updates(status, team=self.state.team, demo=self.state.demo)
        changed = [update for update in updates if self._published.get(update.key.name) != update.value]
        if changed:
            workflow.upsert_search_attributes(changed)
            for update in changed:
                self._published[update.key.name] = update.value
        workflow.set_current_details(_status_markdown(self.state, status))


def _status_markdown(state: ProcessState, status: ProcessStatus) -> str:
    lines = [
        f"**Stage:** {state.stage.value}",
        f"**Team:** {state.team}",
        f"**Case manager:** {state.case_manager or '—'}",
    ]
    if state.assessment:
        level = f" ({state.assessment.level.value})" if state.assessment.level else ""
        lines.append(f"**Route:** {state.assessment.route.value}{level}")
    if state.services:
        active = sum(1 for service in state.services if service.status.value == "active")
        lines.append(f"**Services:** {active} active of {len(state.services)}")
    if state.pending_reviews:
        lines.append(f"**Team review pending:** {', '.join(review.cause.value for review in state.pending_reviews)}")
    if status.next_deadline:
        due = status.next_deadline
        lines.append(f"**Next:** {due.kind.value} at {due.due_at:%Y-%m-%d %H:%M} UTC")
    if state.closure:
        lines.append(f"**Closed:** {state.closure.reason.value}")
    filed = max(state.recorded_event_sequence, state.handed_upto)
    lines.append(f"**Record:** {filed} of {state.last_event_sequence} events in the database or with the staff API")
    return "  \n".join(lines)
