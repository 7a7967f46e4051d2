"""Custom search attributes coordinators filter on in the Temporal Web UI.

None of them carries personal data: stage, staff ids, team ids, route, flags and dates only. Every key
here must be registered on the server (`ops.dev_server` does it for the dev server, `deploy/` for a
cluster) before a pathway sets it.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes

from models.process import ProcessStatus

PATHWAY_STAGE = SearchAttributeKey.for_keyword("PathwayStage")
CASE_MANAGER = SearchAttributeKey.for_keyword("CaseManager")
PATHWAY_TEAM = SearchAttributeKey.for_keyword("PathwayTeam")
TRIAGE_ROUTE = SearchAttributeKey.for_keyword("TriageRoute")
TEAM_REVIEW_PENDING = SearchAttributeKey.for_bool("TeamReviewPending")
PATHWAY_OVERDUE = SearchAttributeKey.for_bool("PathwayOverdue")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
NEXT_DEADLINE_KIND = SearchAttributeKey.for_keyword("NextDeadlineKind")
DEMO_DATA = SearchAttributeKey.for_bool("DemoData")

ALL_SEARCH_ATTRIBUTES = (
    PATHWAY_STAGE,
    CASE_MANAGER,
    PATHWAY_TEAM,
    TRIAGE_ROUTE,
    TEAM_REVIEW_PENDING,
    PATHWAY_OVERDUE,
    NEXT_DEADLINE,
    NEXT_DEADLINE_KIND,
    DEMO_DATA,
)


def status_updates(status: ProcessStatus, *, team: str, demo: bool) -> list[SearchAttributeUpdate[Any]]:
    """Every search attribute's value for this status (the workflow upserts those that changed)."""
    due = status.next_deadline
    return [
        PATHWAY_STAGE.value_set(status.stage.value),
        PATHWAY_TEAM.value_set(team),
        TEAM_REVIEW_PENDING.value_set(status.team_review_pending),
        PATHWAY_OVERDUE.value_set(status.overdue),
        DEMO_DATA.value_set(demo),
        CASE_MANAGER.value_set(status.case_manager) if status.case_manager else CASE_MANAGER.value_unset(),
        TRIAGE_ROUTE.value_set(status.route.value) if status.route else TRIAGE_ROUTE.value_unset(),
        NEXT_DEADLINE.value_set(due.due_at) if due else NEXT_DEADLINE.value_unset(),
        NEXT_DEADLINE_KIND.value_set(due.kind.value) if due else NEXT_DEADLINE_KIND.value_unset(),
    ]


def at_start(status: ProcessStatus, *, team: str, demo: bool) -> TypedSearchAttributes:
    """The search attributes a new pathway starts with: visible in the Web UI before its first workflow task,
    and nothing for that task to upsert."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(update.key, update.value)
        for update in status_updates(status, team=team, demo=demo)
        if update.value is not None
    ]
    return TypedSearchAttributes(pairs)
