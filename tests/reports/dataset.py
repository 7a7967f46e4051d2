"""A seeded, generated set of pathways as read-model rows, with the facts each pathway was built from.

The generator decides each pathway's story first (`Truth`), then writes the events the workflow would
record for it. Tests compute the expected figures from the stories, never from the events, so the
report's event parsing is checked against an independent account.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from models.events import EventKind
from models.pathway import (
    AssessmentLevel,
    ClosureReason,
    LongTermSolution,
    ReferralSource,
    ReferringOrganisation,
    Stage,
    TeamReviewCause,
    TriageRoute,
)
from models.tables import PathwayEventRow

TEAMS = ("eura-team", "pori-team")
START = datetime(2026, 1, 1, tzinfo=UTC)
STAFF = ("nurse.virtanen", "socialworker.nieminen", "physician.korhonen", "physio.lahti")


@dataclass
class Truth:
    pathway_id: str
    team: str
    referred_at: datetime
    source: str
    organisation: str | None
    triage_days: float | None = None
    route_key: str | None = None
    assessment_days: float | None = None
    has_case_manager: bool = False
    handovers: int = 0
    review_causes: list[str] = field(default_factory=list)
    contacts: int = 0
    closed: bool = False
    closure_reason: str | None = None
    solution_at_close: str | None = None
    held: bool = False
    did_not_hold: int = 0
    ratings: list[int] = field(default_factory=list)
    # As the story stands at its end (the programme figures):
    service_days: float | None = None  # referral -> the first service started
    service_kinds: list[str] = field(default_factory=list)
    stage_now: str = Stage.AWAITING_TRIAGE.value
    case_manager_now: str | None = None


class _Writer:
    def __init__(self, truth: Truth, registered_at: datetime) -> None:
        self.truth = truth
        self.now = registered_at
        self.stage = Stage.AWAITING_TRIAGE
        self.rows: list[PathwayEventRow] = []
        self.case_manager: str | None = None

    def at(self, moment: datetime) -> None:
        self.now = moment

    def later(self, rng: random.Random, max_days: float) -> None:
        self.now += timedelta(days=rng.uniform(0.01, max_days))

    def event(self, kind: EventKind, **details: str) -> None:
        self.truth.stage_now, self.truth.case_manager_now = self.stage.value, self.case_manager
        if kind is EventKind.SERVICE_STARTED:
            if self.truth.service_days is None:
                self.truth.service_days = (self.now - self.truth.referred_at).total_seconds() / 86400
            self.truth.service_kinds.append(details["service_kind"])
        self.rows.append(
            PathwayEventRow(
                pathway_id=self.truth.pathway_id,
                sequence=len(self.rows) + 1,
                team=self.truth.team,
                at=self.now,
                actor=self.case_manager or "coordinator.aalto",
                kind=kind.value,
                summary=kind.value,
                stage=self.stage.value,
                details=details,
            )
        )


def generate(seed: int, count: int) -> tuple[list[PathwayEventRow], list[Truth]]:
    rng = random.Random(seed)
    rows: list[PathwayEventRow] = []
    truths: list[Truth] = []
    for index in range(count):
        truth, pathway_rows = _pathway(rng, index)
        truths.append(truth)
        rows += pathway_rows
    # The read model has no order a report may rely on.
    rng.shuffle(rows)
    return rows, truths


def _pathway(rng: random.Random, index: int) -> tuple[Truth, list[PathwayEventRow]]:
    referred_at = START + timedelta(days=rng.uniform(0, 150))
    source = rng.choice(list(ReferralSource))
    organisation = (
        rng.choice(list(ReferringOrganisation)).value if source is ReferralSource.PROFESSIONAL_REFERRAL else None
    )
    truth = Truth(
        pathway_id=f"pathway-client-gen{index:05d}",
        team=rng.choice(TEAMS),
        referred_at=referred_at,
        source=source.value,
        organisation=organisation,
    )
    # Registered up to two days after it arrived.
    w = _Writer(truth, referred_at + timedelta(hours=rng.uniform(0, 48)))
    w.event(
        EventKind.REFERRAL_RECEIVED,
        referral_source=source.value,
        referring_organisation=organisation or "",
        referred_at=referred_at.isoformat(),
    )
    for _ in range(rng.randint(0, 2)):
        truth.ratings.append(rng.randint(1, 5))
    fate = rng.choices(["untriaged", "no_need", "served"], weights=[1, 1, 6])[0]

    if fate == "untriaged":
        _feedback(w, truth)
        return truth, w.rows

    w.later(rng, 30)
    truth.triage_days = (w.now - referred_at).total_seconds() / 86400
    if fate == "no_need":
        truth.route_key = TriageRoute.NO_NEED.value
        w.event(EventKind.TRIAGED, route=TriageRoute.NO_NEED.value)
        _feedback(w, truth)
        _close(w, truth, ClosureReason.NO_NEED, "")
        return truth, w.rows

    route = rng.choice([TriageRoute.HEALTH_CHECK, TriageRoute.EXTENDED_ASSESSMENT])
    level = rng.choice(list(AssessmentLevel)).value if route is TriageRoute.EXTENDED_ASSESSMENT else ""
    truth.route_key = f"{route.value}:{level}" if level else route.value
    truth.assessment_days = truth.triage_days
    w.stage = Stage.ASSESSMENT
    w.event(EventKind.TRIAGED, route=route.value, assessment_level=level)
    w.case_manager = rng.choice(STAFF)
    truth.has_case_manager = True
    w.event(EventKind.CASE_MANAGER_ASSIGNED, case_manager=w.case_manager)
    w.event(EventKind.GOAL_SET)
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        w.later(rng, 20)
        previous, w.case_manager = w.case_manager, rng.choice([s for s in STAFF if s != w.case_manager])
        truth.handovers += 1
        w.event(EventKind.CASE_MANAGER_CHANGED, previous_case_manager=previous, case_manager=w.case_manager)
    w.later(rng, 40)
    w.stage = Stage.PLANNING
    w.event(EventKind.ASSESSMENT_COMPLETED)
    w.stage = Stage.IN_SERVICES
    w.event(EventKind.PLAN_SET)
    w.event(EventKind.SERVICE_STARTED, service_kind="employment_services")
    if index % 3 == 0:  # a second service beside the first (no draw: the other stories stay as they were)
        w.event(EventKind.SERVICE_STARTED, service_kind="vocational_rehabilitation")
    for _ in range(rng.randint(0, 5)):
        w.later(rng, 30)
        truth.contacts += 1
        w.event(EventKind.FOLLOW_UP_REMINDER_SENT)
        w.event(EventKind.FOLLOW_UP_RECORDED, channel="phone")
    for _ in range(rng.choice([0, 0, 1, 2])):
        cause = rng.choice(
            [c for c in TeamReviewCause if c is not TeamReviewCause.SOLUTION_DID_NOT_HOLD]
            + [TeamReviewCause.FOLLOW_UP_OVERDUE] * 2
        )
        w.later(rng, 10)
        truth.review_causes.append(cause.value)
        w.event(EventKind.TEAM_REVIEW_OPENED, cause=cause.value, review_id=f"r{len(w.rows)}")
        w.event(EventKind.TEAM_REVIEW_DECIDED, cause=cause.value, decision="continue", review_id=f"r{len(w.rows)}")

    ending = rng.choice(["open", "held", "closed_unconfirmed", "did_not_hold", "declined", "moved_away"])
    if ending == "open":
        _feedback(w, truth)
        return truth, w.rows
    if ending in ("declined", "moved_away"):
        _feedback(w, truth)
        reason = ClosureReason.CLIENT_DECLINED if ending == "declined" else ClosureReason.MOVED_AWAY
        _close(w, truth, reason, "")
        return truth, w.rows
    solution = rng.choice(list(LongTermSolution)).value
    _outcome(w, rng, solution)
    if ending == "did_not_hold":
        w.later(rng, 60)
        truth.did_not_hold += 1
        w.event(EventKind.SOLUTION_DID_NOT_HOLD, solution=solution)
        w.stage = Stage.IN_SERVICES
        truth.review_causes.append(TeamReviewCause.SOLUTION_DID_NOT_HOLD.value)
        w.event(EventKind.TEAM_REVIEW_OPENED, cause=TeamReviewCause.SOLUTION_DID_NOT_HOLD.value, review_id="dnh")
        if rng.random() < 0.5:
            # Left open, back in services.
            _feedback(w, truth)
            return truth, w.rows
        # A second solution, which then holds.
        solution = rng.choice(list(LongTermSolution)).value
        _outcome(w, rng, solution)
        ending = "held"
    _feedback(w, truth)
    if ending == "held":
        w.later(rng, 200)
        truth.held = True
        w.event(EventKind.SUSTAINMENT_CONFIRMED, solution=solution)
    _close(w, truth, ClosureReason.COMPLETED, solution)
    return truth, w.rows


def _outcome(w: _Writer, rng: random.Random, solution: str) -> None:
    w.later(rng, 90)
    w.stage = Stage.SUSTAINMENT
    w.event(EventKind.OUTCOME_RECORDED, solution=solution)


def _feedback(w: _Writer, truth: Truth) -> None:
    for rating in truth.ratings:
        w.event(EventKind.FEEDBACK_RECORDED, rating=str(rating))


def _close(w: _Writer, truth: Truth, reason: ClosureReason, solution: str) -> None:
    w.now += timedelta(days=1)
    truth.closed = True
    truth.closure_reason = reason.value
    truth.solution_at_close = solution or None
    w.stage = Stage.CLOSED
    w.event(EventKind.CLOSED, closure_reason=reason.value, solution=solution)
