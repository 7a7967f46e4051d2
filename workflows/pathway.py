"""The client pathway: one long-running workflow per pathway, from referral until a solution holds.

A thin durable shell around `workflows.rules`. Staff act through updates named after the actions of
`workflows.actions` (one dynamic handler, each action's validator first: an impossible action is refused
with its reason before it enters the history). Deadlines come from `workflows.deadlines`.

The record: one rule, one writer (docs/architecture.md, "From a decision to the record"). What a transition
decides (events, notices, the status) waits in the state until the `record_pathway_changes` activity has
written it; only the worker runs that activity, and it runs only for decisions that are durably in the
history. Events reach the database in sequence order, each once (the store ignores repeats). Two moments
file in their own workflow task, as a local activity: a new pathway's referral (it follows from the start
event) and deadlines that fell due in a task that handled no staff action (they follow from the durable
state and the timer). Everything else, and whatever those could not write, is filed by the main loop's
activity after the task. An activity that does not get through (the database away) never fails the
pathway: it keeps its decisions, says so in its current details and in the process, and tries again.
Recorded events leave the state, so it stays bounded whatever the age.

Deterministic: time from `workflow.now()`, ids from `workflow.uuid4()`, no I/O. A change that alters the
commands a saved history produced needs `workflow.patched` (docs/architecture.md, "Versioning").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from models.actions import StaffActor
    from models.effects import (
        MAX_EVENTS_PER_BATCH,
        MAX_NOTICES_PER_BATCH,
        RECORD_PATHWAY_CHANGES,
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
        RecordDelay,
    )
    from workflows import deadlines, rules, search_attributes
    from workflows.actions import BY_NAME, StaffAction
    from workflows.rules import Decision, Refusal

WORKFLOW_NAME = "Pathway"
INVALID_PATHWAY_ACTION = "InvalidPathwayAction"
# Writing the record must eventually happen. One round of the activity retries for a few minutes; a round
# that does not get through (the database away) is followed by a pause and another round, for as long as it
# takes, so the workflow can say in its details since when it waits. An input the activity can never write
# (a defect) fails its round at once and is tried again after an hour, never dropped.
RECORD_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=("InvalidRecordBatch",),
)
RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_ROUND = timedelta(minutes=5)
RECORD_PAUSES = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
REFUSED_BATCH_PAUSE = timedelta(hours=1)
# Inside a workflow task a few quick attempts only: a database that stays down is the main loop's to wait for.
IN_TASK_RETRY_POLICY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
# Deadlines fired in one workflow task; more wait for the next turn of the main loop.
MAX_DEADLINES_AT_ONCE = 20


class InvalidPathwayAction(ApplicationError):
    """Raised by the validator; the API shows `message` to staff as the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type=INVALID_PATHWAY_ACTION, non_retryable=True)


@workflow.defn(name=WORKFLOW_NAME)
class PathwayWorkflow:
    @workflow.init
    def __init__(self, start: PathwayStart) -> None:
        self._changes = 0
        # What this run's search attributes hold now: a new run starts with what the start or the previous
        # run set, so only what changes is upserted (every upsert is an event in a history that lives for years).
        self._published: dict[str, Any] = {
            pair.key.name: pair.value for pair in workflow.info().typed_search_attributes
        }
        self._start_batch: RecordBatch | None = None
        # The history length when a staff action was last handled: a task of that length holds an update that is
        # not durable yet, so a deadline fired in it is recorded after the task, by the main loop's activity.
        self._action_task = -1
        # What a validator decoded for the handler that runs right after it in the same task (by update id): an
        # action's payloads are decoded and validated once, not twice. On replay no validator runs and the handler
        # decodes them itself.
        self._validated: dict[str, tuple[StaffAction[Any], StaffActor, Any]] = {}
        # The status of the state as it is (`_status`): read several times in each task, worked out once.
        self._status_of: tuple[tuple[int, int], ProcessStatus] | None = None
        if start.carried is not None:
            # Continue-as-new: the bounded process came along; unrecorded decisions with it.
            self.state = start.carried
            self.state.runs += 1
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
        try:
            return await self._run()
        except FailureError as err:
            # Only a decision ends a pathway. A failure of an effect that escaped its handler (a defect) would fail
            # the workflow for good: it fails this workflow task instead, which Temporal retries until a fixed
            # worker takes it, and the log says why.
            if isinstance(err, CancelledError):
                raise
            raise RuntimeError(f"the pathway's run met {type(err).__name__}; retrying this task") from err

    async def _run(self) -> PathwayClosing:
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
                workflow.continue_as_new(PathwayStart(carried=self.state))
            if self._settled():
                await self._wait_for_change_or_deadline()

    def _settled(self) -> bool:
        """Everything decided is in the database: events, notices and the current status."""
        state = self.state
        return not state.unrecorded_events and not state.pending_notices and state.recorded_status == self._status()

    async def _wait_for_change_or_deadline(self) -> None:
        seen = self._changes
        upcoming = self._status().next_deadline
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
        before them (waiting is only entered settled, so everything unrecorded is theirs) and no staff action was
        handled in this task (its update is not in the history until the task completes). Otherwise, or for a
        batch too large for one write, the main loop's activity files it after the task."""
        state = self.state
        if self._action_task == workflow.info().get_current_history_length():
            return None
        if len(state.unrecorded_events) > MAX_EVENTS_PER_BATCH or len(state.pending_notices) > MAX_NOTICES_PER_BATCH:
            return None
        return RecordBatch(
            pathway_id=state.pathway_id,
            team=state.team,
            events=list(state.unrecorded_events),
            notices=list(state.pending_notices),
            status=self._status(),
        )

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
        except FailureError as err:
            # A local activity that ran out of attempts raises its bare ApplicationError (a scheduled one wraps it
            # in ActivityError). The database was not reachable: the main loop records the same decisions by an
            # activity that waits for it.
            if isinstance(err, CancelledError):
                raise
            workflow.logger.warning("%s of %s in its task failed: %s", summary, batch.pathway_id, _reason_of(err))
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
        # The status may have moved on meanwhile; the main loop records it again if so.
        if batch.status is not None:
            state.recorded_status = batch.status

    async def _record_decisions(self) -> None:
        """Write what was decided so far to the database, in batches; recorded events leave the state.

        A round that does not get through keeps the decisions: the workflow says since when it waits (its
        details, the process), pauses and tries again, however long the database is away. A staff action or a
        deadline meanwhile is decided as usual and goes with the next round."""
        while not self._settled():
            state = self.state
            events = state.unrecorded_events[:MAX_EVENTS_PER_BATCH]
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
            try:
                await workflow.execute_activity(
                    RECORD_PATHWAY_CHANGES,
                    batch,
                    result_type=RecordResult,
                    start_to_close_timeout=RECORD_TIMEOUT,
                    schedule_to_close_timeout=RECORD_ROUND,
                    retry_policy=RECORD_RETRY_POLICY,
                    # No summary: the SDK encodes every summary with the task's context, a cost in each staff
                    # action's task (bench/PROFILE.md, fourteenth round); the current details say how far the
                    # record is, and the activity's decoded input which events it files.
                )
            except ActivityError as err:
                if isinstance(err.cause, CancelledError):
                    raise  # the pathway is being cancelled, not the database away
                await self._wait_after_failed_round(err)
                if self._history_is_long():
                    # Each failed round adds events: a long outage continues as new like any long run, with
                    # the decisions still to write (and since when) in the carried state.
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    workflow.continue_as_new(PathwayStart(carried=self.state))
                continue
            state.record_delay = None
            self._recorded(batch.model_copy(update={"status": status}))

    async def _wait_after_failed_round(self, err: ActivityError) -> None:
        """Note the delay where coordinators and staff see it, then pause before the next round (a change, such
        as a staff action, starts it sooner)."""
        cause = err.cause
        refused = isinstance(cause, ApplicationError) and cause.type == "InvalidRecordBatch"
        # The error's type only: a database's message may quote the values it refused.
        reason = "refused by the database (a defect: see docs/operations.md)" if refused else _reason_of(err)
        delay = self.state.record_delay
        attempts = delay.attempts + 1 if delay else 1
        self.state.record_delay = RecordDelay(
            since=delay.since if delay else workflow.now(), attempts=attempts, reason=reason
        )
        (workflow.logger.error if refused else workflow.logger.warning)(
            "Recording %s did not get through (round %d): %s", self.state.pathway_id, attempts, reason
        )
        self._publish_status()
        pause = REFUSED_BATCH_PAUSE if refused else RECORD_PAUSES[min(attempts, len(RECORD_PAUSES)) - 1]
        seen = self._changes
        try:
            await workflow.wait_condition(
                lambda: self._changes != seen, timeout=pause, timeout_summary="retry writing the record"
            )
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
        update = workflow.current_update_info()
        key = update.id if update is not None else str(workflow.uuid4())
        validated = self._validated.pop(key) if key in self._validated else None
        action, actor, fields = validated or self._decode(name, args)
        if key in self.state.recent_action_keys:
            # The same action retried after continue-as-new (Temporal de-duplicates within a run only).
            return self._answer(Decision(), repeated=True)
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
        return self._answer(decision)

    @act.validator
    def _validate_act(self, name: str, args: Sequence[RawValue]) -> None:
        decoded = action, actor, fields = self._decode(name, args)
        try:
            rules.require_record_keeping_up(self.state)
            action.validate(self.state, fields, workflow.now(), actor.actor)
        except Refusal as refusal:
            raise InvalidPathwayAction(refusal.reason) from None
        update = workflow.current_update_info()
        if update is not None:
            self._validated[update.id] = decoded

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
        except (ValidationError, ValueError, TypeError, KeyError) as err:  # KeyError: a payload refused (core.codec)
            raise InvalidPathwayAction(f"{name}: the action's fields are not valid: {err}") from None
        return action, actor, fields

    def _answer(self, decision: Decision, *, repeated: bool = False) -> ActionAnswer:
        state = self.state
        status = self._status()
        return ActionAnswer(
            pathway_id=state.pathway_id,
            stage=state.stage,
            case_manager=state.case_manager,
            handover_to=state.handover.to if state.handover else None,
            team_review_pending=state.team_review_pending,
            overdue=status.overdue,
            next_deadline=status.next_deadline,
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
        # A new state (a decision) or a change taken (`_take`) is a new status; recording (`_recorded`) changes
        # nothing the status is made of.
        key = (id(self.state), self._changes)
        if self._status_of is None or self._status_of[0] != key:
            self._status_of = (key, deadlines.status_of(self.state))
        return self._status_of[1]

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
    lines.append(f"**Record:** {state.recorded_event_sequence} of {state.last_event_sequence} events in the database")
    if state.record_delay:
        delay = state.record_delay
        lines.append(
            f"**Waiting for the database** since {delay.since:%Y-%m-%d %H:%M} UTC ({delay.attempts} round(s): "
            f"{delay.reason}); nothing is lost, the record is written when it answers"
        )
    return "  \n".join(lines)


def _reason_of(err: FailureError) -> str:
    """The failure's type (never its message: a database's message may quote the values it refused)."""
    cause = err.cause if isinstance(err, ActivityError) and err.cause is not None else err
    if isinstance(cause, ApplicationError) and cause.type:
        return cause.type
    return type(cause).__name__
