#!/bin/sh
# Set-up job: the pathways namespace and every custom search attribute of workflows/search_attributes.py.
# Safe to run again: creating an attribute that exists with the same type is a no-op; a different type
# fails loudly (changing a type means a new attribute name, never an in-place change).
# Needs only the `temporal` CLI (temporalio/admin-tools image, or the app image's venv).
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS (host:port of the Temporal frontend) is required}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
# How long Temporal keeps the history of a closed pathway; the app's read model keeps what must last.
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-720h}"
MAX_ATTEMPTS="${SETUP_MAX_ATTEMPTS:-60}"
SLEEP_SECONDS="${SETUP_SLEEP_SECONDS:-2}"

retry() {
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      echo "giving up after $MAX_ATTEMPTS attempts: $*" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$SLEEP_SECONDS"
  done
}

echo "Waiting for Temporal at $TEMPORAL_ADDRESS..."
retry temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "Namespace $NAMESPACE exists"
else
  echo "Creating namespace $NAMESPACE (retention $RETENTION)"
  retry temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
    --address "$TEMPORAL_ADDRESS"
fi

register() {
  # A new namespace takes a few seconds to reach every frontend's cache, hence the retry.
  echo "Search attribute $1 ($2)"
  retry temporal operator search-attribute create --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" \
    --name "$1" --type "$2" >/dev/null
}

# Keep in step with workflows/search_attributes.py (tests/ops checks that every key is here).
register PathwayStage Keyword
register CaseManager Keyword
register PathwayTeam Keyword
register TriageRoute Keyword
register TeamReviewPending Bool
register PathwayOverdue Bool
register NextDeadline Datetime
register NextDeadlineKind Keyword
register DemoData Bool

echo "Namespace $NAMESPACE is ready for pathways"
