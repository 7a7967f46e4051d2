"""Custom search attributes coordinators filter on in the Temporal Web UI.

None of them carries personal data: stage, staff ids, team ids, route, flags and dates only. Every key
here must be registered on the server (`core.dev_server` does it for the dev server, `deploy/` for a
cluster) before a pathway sets it.
"""

from temporalio.common import SearchAttributeKey

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
