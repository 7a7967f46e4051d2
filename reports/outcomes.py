"""Programme outcome report: are clients' needs recognised, and do they reach a solution that lasts?

Computed from the timeline (`PathwayEventRow` rows and the coded facts in their `details`), never
from free text; `records.store.cohort_events` loads the rows. The report covers a *referral cohort*: the
pathways whose referral arrived in [period_from, period_to) (either end open), of one team or all teams
given; every figure describes what
has happened to those pathways so far. Pathways whose referral event is not among the rows are left out.

Definitions:
- time to triage: referral -> the first triage; time to the start of assessment: referral -> the first
  event that put the pathway in the assessment stage (no-need pathways never start one). Days; median
  and p90 by the nearest-rank method (the smallest value with at least 90 % of values at or below it).
- case-manager changes: handovers per pathway that got a case manager.
- escalations: team reviews opened, by cause (automatic ones and those requested by staff).
- overdue follow-ups: team reviews opened because a follow-up contact was overdue.
- outcomes, over the closed pathways: the long-term solution in place when the pathway closed, and of
  those, the share whose solution was confirmed to hold through the sustainment period.
- service continuity: days without a service, per pathway that got a plan: the time in the in-services
  stage (from the first plan until a solution is recorded, the pathway closes or the report's `as_of`)
  during which no service was active, waiting for the first one included. Transitions: services that
  stopped short while the plan went on (interrupted, cancelled, declined by the provider, consent withdrawn),
  how they were decided, and how many were closed without a gap (an active service throughout).
"""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from models.events import EventKind
from models.pathway import CLIENT_ACTOR_PREFIX, LongTermSolution, ReferralSource, Stage, TeamReviewCause
from models.tables import PathwayEventRow
from reports.measures import (
    DurationSummary,
    Share,
    aware,
    days_between,
    durations,
    in_period,
    referred_at_of,
    share,
)
from reports.programme import ProgrammeFigures, programme_figures
from reports.work_ability import WorkAbilityFigures, pathway_measures, work_ability_figures, work_ability_rows

_SECONDS_PER_DAY = 86400.0


# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------


class CaseManagerChanges(BaseModel):
    pathways_with_case_manager: int
    changes: int
    mean_per_pathway: float | None
    distribution: dict[int, int] = Field(description="Number of changes -> number of pathways.")


class FollowUpFigures(BaseModel):
    contacts_recorded: int
    overdue_escalations: int
    pathways_with_overdue_follow_up: int


class OutcomeFigures(BaseModel):
    closed_pathways: int
    closure_reasons: dict[str, int]
    reached: dict[str, Share] = Field(description="Solution in place at closure -> share of closed pathways.")
    reached_any: Share = Field(description="Closed with a long-term solution in place, of closed pathways.")
    held: Share = Field(description="Confirmed to hold through the sustainment period, of reached_any.")
    held_by_solution: dict[str, Share] = Field(description="Held, of the closed pathways with that solution.")
    solutions_that_did_not_hold: int = Field(description="Solutions reported not to hold (a pathway may have several).")


class ContactKnowledge(BaseModel):
    group: str = Field(description="The team, or the quarter the answer was given in (UTC).")
    answers: int
    knows: Share = Field(description='Answered yes to "Do you know whom to contact?", of `answers`.')


class FeedbackFigures(BaseModel):
    count: int
    mean_rating: float | None
    distribution: dict[int, int] = Field(description="Rating 1-5 -> how many times given.")
    from_clients: int = Field(default=0, description="Given by the client themselves, through their link.")
    from_staff: int = Field(default=0, description="Written down by staff on the client's behalf.")
    client_mean_rating: float | None = None
    staff_mean_rating: float | None = None
    knows_whom_to_contact: Share = Field(
        default_factory=lambda: Share(count=0, share=None),
        description='Answers of "yes" to "Do you know whom to contact?", of those that answered it.',
    )
    knows_by_team: list[ContactKnowledge] = []
    knows_by_quarter: list[ContactKnowledge] = []


class ServiceContinuity(BaseModel):
    pathways_with_plan: int
    days_without_service: DurationSummary = Field(description="Per pathway with a plan.")
    total_days_without_service: float
    pathways_with_days_without_service: int
    transitions_opened: int
    transitions_by_cause: dict[str, int]
    transitions_decided: int
    transitions_by_decision: dict[str, int]
    transitions_without_gap: Share = Field(description="Decided with an active service throughout, of decided.")


class OutcomeReport(BaseModel):
    team: str | None
    period_from: datetime | None
    period_to: datetime | None
    pathways: int = Field(description="Pathways referred in the period (the cohort).")
    referrals_by_source: dict[str, int]
    referrals_by_organisation: dict[str, int]
    time_to_triage: DurationSummary
    time_to_assessment_start: DurationSummary
    routes: dict[str, int] = Field(description="Triage route (extended assessment with its level) -> pathways.")
    case_manager_changes: CaseManagerChanges
    escalations_by_cause: dict[str, int]
    follow_ups: FollowUpFigures
    outcomes: OutcomeFigures
    feedback: FeedbackFigures
    continuity: ServiceContinuity
    programme: ProgrammeFigures = Field(description="Trends, teams side by side, backlog, caseload, services.")
    work_ability: WorkAbilityFigures = Field(description="The Work Ability Score and the GAS goals (issue 36).")


# --------------------------------------------------------------------------------------------------
# Computing it
# --------------------------------------------------------------------------------------------------


_SERVICE_ENDS = frozenset({EventKind.SERVICE_COMPLETED, EventKind.SERVICE_INTERRUPTED, EventKind.SERVICE_CANCELLED})


def days_without_service(rows: list[PathwayEventRow], as_of: datetime) -> float | None:
    """Days in the in-services stage with no active service, from the first plan on; None without a plan."""
    active: set[str] = set()
    planned = False
    without = 0.0
    stage: str | None = None
    since: datetime | None = None  # when the current stretch without a service began
    for row in rows:
        at = aware(row.at)
        if since is not None:
            without += (at - since).total_seconds()
            since = None
        if row.kind in (EventKind.PLAN_SET, EventKind.PLAN_REVISED):
            planned = True
        elif row.kind == EventKind.SERVICE_STARTED:
            active.add(str(row.details.get("service_id")))
        elif row.kind in _SERVICE_ENDS:
            active.discard(str(row.details.get("service_id")))
        stage = row.stage
        if planned and stage == Stage.IN_SERVICES and not active:
            since = at
    if not planned:
        return None
    if since is not None and stage != Stage.CLOSED:
        without += max((aware(as_of) - since).total_seconds(), 0.0)
    return without / _SECONDS_PER_DAY


def outcome_report(
    events: Iterable[PathwayEventRow],
    *,
    team: str | None = None,
    period_from: datetime | None = None,
    period_to: datetime | None = None,
    as_of: datetime | None = None,
) -> OutcomeReport:
    """The outcome report over the pathways referred in the period (see the module docstring). `as_of` ends
    the stretches still open (days without a service); by default the latest event's time."""
    by_pathway: dict[str, list[PathwayEventRow]] = {}
    latest: datetime | None = None
    for event in events:
        if team is None or event.team == team:
            by_pathway.setdefault(event.pathway_id, []).append(event)
            latest = max(latest, aware(event.at)) if latest else aware(event.at)
    as_of = as_of or latest or datetime.now(UTC)
    gaps: list[float] = []
    transition_causes: Counter[str] = Counter()
    transition_decisions: Counter[str] = Counter()
    without_gap = 0

    sources: Counter[str] = Counter()
    organisations: Counter[str] = Counter()
    to_triage: list[float] = []
    to_assessment: list[float] = []
    routes: Counter[str] = Counter()
    changes_per_pathway: list[int] = []
    causes: Counter[str] = Counter()
    contacts = overdue = pathways_overdue = did_not_hold = 0
    closure_reasons: Counter[str] = Counter()
    solution_at_closure: list[str] = []
    held_solutions: list[str] = []
    ratings: list[int] = []
    client_ratings: list[int] = []
    staff_ratings: list[int] = []
    contact_answers: list[tuple[str, str, bool]] = []  # (team, quarter, knows)
    measured = []
    cohort = 0

    for rows in by_pathway.values():
        rows.sort(key=lambda row: row.sequence)
        referral = next((row for row in rows if row.kind == EventKind.REFERRAL_RECEIVED), None)
        if referral is None:
            continue
        referred_at = referred_at_of(referral)
        if not in_period(referred_at, period_from, period_to):
            continue
        cohort += 1
        sources[referral.details.get("referral_source", "")] += 1
        if referral.details.get("referring_organisation"):
            organisations[referral.details["referring_organisation"]] += 1

        triage = next((row for row in rows if row.kind == EventKind.TRIAGED), None)
        route_chosen = ""
        if triage is not None:
            to_triage.append(days_between(referred_at, triage.at))
            route, level = triage.details.get("route", ""), triage.details.get("assessment_level", "")
            route_chosen = f"{route}:{level}" if level else route
            routes[route_chosen] += 1
        measured.append(pathway_measures(rows, team=referral.team, route=route_chosen))
        assessment = next((row for row in rows if row.stage == Stage.ASSESSMENT), None)
        if assessment is not None:
            to_assessment.append(days_between(referred_at, assessment.at))

        kinds = Counter(row.kind for row in rows)
        if kinds[EventKind.CASE_MANAGER_ASSIGNED]:
            changes_per_pathway.append(kinds[EventKind.CASE_MANAGER_CHANGED])
        opened = [row.details.get("cause", "") for row in rows if row.kind == EventKind.TEAM_REVIEW_OPENED]
        causes.update(opened)
        overdue_here = opened.count(TeamReviewCause.FOLLOW_UP_OVERDUE)
        overdue += overdue_here
        pathways_overdue += 1 if overdue_here else 0
        contacts += kinds[EventKind.FOLLOW_UP_RECORDED]
        did_not_hold += kinds[EventKind.SOLUTION_DID_NOT_HOLD]
        for row in rows:
            if row.kind == EventKind.FEEDBACK_RECORDED:
                rating = int(row.details["rating"])
                ratings.append(rating)
                by_client = row.actor.startswith(CLIENT_ACTOR_PREFIX)
                (client_ratings if by_client else staff_ratings).append(rating)
                knows = row.details.get("knows_whom_to_contact")
                if knows is not None:
                    given = aware(row.at)
                    contact_answers.append((referral.team, f"{given.year}-Q{(given.month - 1) // 3 + 1}", bool(knows)))
        gap_days = days_without_service(rows, as_of)
        if gap_days is not None:
            gaps.append(round(gap_days, 4))
        for row in rows:
            if row.kind == EventKind.TRANSITION_OPENED:
                transition_causes[row.details.get("cause", "")] += 1
            elif row.kind == EventKind.TRANSITION_DECIDED:
                transition_decisions[row.details.get("decision", "")] += 1
                without_gap += 1 if row.details.get("without_gap") else 0

        closed = next((row for row in reversed(rows) if row.kind == EventKind.CLOSED), None)
        if closed is not None:
            closure_reasons[closed.details.get("closure_reason", "")] += 1
            solution = closed.details.get("solution", "")
            solution_at_closure.append(solution)
            # A confirmation closes the pathway at once, so any confirmation is of the final solution.
            if solution and kinds[EventKind.SUSTAINMENT_CONFIRMED]:
                held_solutions.append(solution)

    closed_count = len(solution_at_closure)
    reached_counts = Counter(s for s in solution_at_closure if s)
    held_counts = Counter(held_solutions)
    reached_any = sum(reached_counts.values())
    programme = programme_figures(
        (row for rows in by_pathway.values() for row in rows), period_from=period_from, period_to=period_to
    )
    return OutcomeReport(
        programme=programme,
        work_ability=work_ability_figures(measured),
        team=team,
        period_from=period_from,
        period_to=period_to,
        pathways=cohort,
        referrals_by_source={source.value: sources[source.value] for source in ReferralSource},
        referrals_by_organisation=dict(sorted(organisations.items())),
        time_to_triage=durations(to_triage),
        time_to_assessment_start=durations(to_assessment),
        routes=dict(sorted(routes.items())),
        case_manager_changes=CaseManagerChanges(
            pathways_with_case_manager=len(changes_per_pathway),
            changes=sum(changes_per_pathway),
            mean_per_pathway=round(statistics.mean(changes_per_pathway), 2) if changes_per_pathway else None,
            distribution=dict(sorted(Counter(changes_per_pathway).items())),
        ),
        escalations_by_cause=dict(sorted(causes.items())),
        follow_ups=FollowUpFigures(
            contacts_recorded=contacts,
            overdue_escalations=overdue,
            pathways_with_overdue_follow_up=pathways_overdue,
        ),
        outcomes=OutcomeFigures(
            closed_pathways=closed_count,
            closure_reasons=dict(sorted(closure_reasons.items())),
            reached={s.value: share(reached_counts[s.value], closed_count) for s in LongTermSolution},
            reached_any=share(reached_any, closed_count),
            held=share(len(held_solutions), reached_any),
            held_by_solution={s.value: share(held_counts[s.value], reached_counts[s.value]) for s in LongTermSolution},
            solutions_that_did_not_hold=did_not_hold,
        ),
        feedback=FeedbackFigures(
            count=len(ratings),
            mean_rating=_mean(ratings),
            distribution={rating: ratings.count(rating) for rating in range(1, 6)},
            from_clients=len(client_ratings),
            from_staff=len(staff_ratings),
            client_mean_rating=_mean(client_ratings),
            staff_mean_rating=_mean(staff_ratings),
            knows_whom_to_contact=share(sum(knows for *_, knows in contact_answers), len(contact_answers)),
            knows_by_team=_knowledge(contact_answers, 0),
            knows_by_quarter=_knowledge(contact_answers, 1),
        ),
        continuity=ServiceContinuity(
            pathways_with_plan=len(gaps),
            days_without_service=durations(gaps),
            total_days_without_service=round(sum(gaps), 2),
            pathways_with_days_without_service=sum(1 for days in gaps if days > 0),
            transitions_opened=sum(transition_causes.values()),
            transitions_by_cause=dict(sorted(transition_causes.items())),
            transitions_decided=sum(transition_decisions.values()),
            transitions_by_decision=dict(sorted(transition_decisions.items())),
            transitions_without_gap=share(without_gap, sum(transition_decisions.values())),
        ),
    )


def _mean(values: list[int]) -> float | None:
    return round(statistics.mean(values), 2) if values else None


def _knowledge(answers: list[tuple[str, str, bool]], by: int) -> list[ContactKnowledge]:
    groups = sorted({answer[by] for answer in answers})
    figures = []
    for group in groups:
        mine = [answer for answer in answers if answer[by] == group]
        figures.append(
            ContactKnowledge(group=group, answers=len(mine), knows=share(sum(a[2] for a in mine), len(mine)))
        )
    return figures


# --------------------------------------------------------------------------------------------------
# CSV and PNG
# --------------------------------------------------------------------------------------------------

CSV_HEADER = ("section", "measure", "category", "value")


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def report_rows(report: OutcomeReport) -> list[tuple[str, str, str, str]]:
    """The report as long-format rows (section, measure, category, value): one figure a row."""
    rows: list[tuple[str, str, str, object]] = [
        ("report", "team", "", report.team or "all"),
        ("report", "period_from", "", report.period_from),
        ("report", "period_to", "", report.period_to),
        ("report", "pathways", "", report.pathways),
    ]
    rows += [("referrals", "by_source", k, v) for k, v in report.referrals_by_source.items()]
    rows += [("referrals", "by_referring_organisation", k, v) for k, v in report.referrals_by_organisation.items()]
    for section, summary in (
        ("time_to_triage", report.time_to_triage),
        ("time_to_assessment_start", report.time_to_assessment_start),
    ):
        rows += [
            (section, "count", "", summary.count),
            (section, "median_days", "", summary.median_days),
            (section, "p90_days", "", summary.p90_days),
        ]
    rows += [("routes", "chosen", k, v) for k, v in report.routes.items()]
    changes = report.case_manager_changes
    rows += [
        ("case_manager_changes", "pathways_with_case_manager", "", changes.pathways_with_case_manager),
        ("case_manager_changes", "changes", "", changes.changes),
        ("case_manager_changes", "mean_per_pathway", "", changes.mean_per_pathway),
    ]
    rows += [("case_manager_changes", "pathways_with_changes", str(k), v) for k, v in changes.distribution.items()]
    rows += [("escalations", "by_cause", k, v) for k, v in report.escalations_by_cause.items()]
    rows += [("follow_ups", name, "", value) for name, value in report.follow_ups.model_dump().items()]
    outcomes = report.outcomes
    rows.append(("outcomes", "closed_pathways", "", outcomes.closed_pathways))
    rows += [("outcomes", "closure_reason", k, v) for k, v in outcomes.closure_reasons.items()]
    for solution, part in outcomes.reached.items():
        rows += [("outcomes", "reached", solution, part.count), ("outcomes", "reached_share", solution, part.share)]
    rows += [
        ("outcomes", "reached_any", "", outcomes.reached_any.count),
        ("outcomes", "reached_any_share", "", outcomes.reached_any.share),
        ("outcomes", "held", "", outcomes.held.count),
        ("outcomes", "held_share", "", outcomes.held.share),
    ]
    for solution, part in outcomes.held_by_solution.items():
        rows += [("outcomes", "held", solution, part.count), ("outcomes", "held_share", solution, part.share)]
    rows.append(("outcomes", "solutions_that_did_not_hold", "", outcomes.solutions_that_did_not_hold))
    feedback = report.feedback
    rows += [("feedback", "count", "", feedback.count), ("feedback", "mean_rating", "", feedback.mean_rating)]
    rows += [("feedback", "rating", str(k), v) for k, v in feedback.distribution.items()]
    rows += [
        ("feedback", "from_clients", "", feedback.from_clients),
        ("feedback", "from_staff", "", feedback.from_staff),
        ("feedback", "client_mean_rating", "", feedback.client_mean_rating),
        ("feedback", "staff_mean_rating", "", feedback.staff_mean_rating),
        ("feedback", "knows_whom_to_contact", "", feedback.knows_whom_to_contact.count),
        ("feedback", "knows_whom_to_contact_share", "", feedback.knows_whom_to_contact.share),
    ]
    for section, groups in (("knows_by_team", feedback.knows_by_team), ("knows_by_quarter", feedback.knows_by_quarter)):
        for group in groups:
            rows += [
                ("feedback", f"{section}_answers", group.group, group.answers),
                ("feedback", f"{section}_share", group.group, group.knows.share),
            ]
    continuity = report.continuity
    rows += [
        ("continuity", "pathways_with_plan", "", continuity.pathways_with_plan),
        ("continuity", "days_without_service_median", "", continuity.days_without_service.median_days),
        ("continuity", "days_without_service_p90", "", continuity.days_without_service.p90_days),
        ("continuity", "days_without_service_total", "", continuity.total_days_without_service),
        ("continuity", "pathways_with_days_without_service", "", continuity.pathways_with_days_without_service),
        ("continuity", "transitions_opened", "", continuity.transitions_opened),
    ]
    rows += [("continuity", "transitions_by_cause", k, v) for k, v in continuity.transitions_by_cause.items()]
    rows += [("continuity", "transitions_by_decision", k, v) for k, v in continuity.transitions_by_decision.items()]
    rows += [
        ("continuity", "transitions_decided", "", continuity.transitions_decided),
        ("continuity", "transitions_without_gap", "", continuity.transitions_without_gap.count),
        ("continuity", "transitions_without_gap_share", "", continuity.transitions_without_gap.share),
    ]
    rows += _programme_rows(report.programme)
    rows += work_ability_rows(report.work_ability)
    return [(section, measure, category, _value(value)) for section, measure, category, value in rows]


def _programme_rows(programme: ProgrammeFigures) -> list[tuple[str, str, str, object]]:
    rows: list[tuple[str, str, str, object]] = []
    for section, trends in (("trend_by_month", programme.by_month), ("trend_by_quarter", programme.by_quarter)):
        for trend in trends:
            rows += [
                (section, name, trend.period, value) for name, value in trend.model_dump().items() if name != "period"
            ]
    for team in programme.teams:
        rows += [
            ("teams", "referrals", team.team, team.referrals),
            ("teams", "open", team.team, team.open),
            ("teams", "median_days_to_triage", team.team, team.median_days_to_triage),
            ("teams", "median_days_to_service", team.team, team.median_days_to_service),
            ("teams", "closed", team.team, team.closed),
            ("teams", "reached_solution", team.team, team.reached_solution.count),
            ("teams", "reached_solution_share", team.team, team.reached_solution.share),
            ("teams", "held", team.team, team.held.count),
            ("teams", "held_share", team.team, team.held.share),
        ]
    summary = programme.time_to_service
    rows += [
        ("time_to_service", "count", "", summary.count),
        ("time_to_service", "median_days", "", summary.median_days),
        ("time_to_service", "p90_days", "", summary.p90_days),
    ]
    rows += [("services", "started_by_kind", kind, count) for kind, count in programme.services_by_kind.items()]
    rows += [("backlog", "open_by_stage", stage, count) for stage, count in programme.backlog_by_stage.items()]
    rows += [
        ("caseload", "open_by_case_manager", who, count) for who, count in programme.caseload_by_case_manager.items()
    ]
    return rows


# Excel in a Finnish or Swedish locale reads a CSV by the locale's list separator (;) and decimal comma,
# and takes the file as UTF-8 only with a byte-order mark; in English, commas and points.
EXCEL_LOCALE_LANGUAGES = frozenset({"fi", "sv"})
_NUMBER = re.compile(r"^-?\d+\.\d+$")


def report_csv(report: OutcomeReport, *, language: str = "en") -> str:
    """The report as CSV, one figure a row, in the spreadsheet conventions of the reader's language."""
    nordic = language in EXCEL_LOCALE_LANGUAGES
    buffer = io.StringIO()
    if nordic:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";" if nordic else ",", lineterminator="\r\n" if nordic else "\n")
    writer.writerow(CSV_HEADER)
    for row in report_rows(report):
        value = row[3]
        writer.writerow((*row[:3], value.replace(".", ",") if nordic and _NUMBER.match(value) else value))
    return buffer.getvalue()
