#!/bin/sh
# Set-up job: Temporal's two databases on PostgreSQL (history and visibility), created on the first run
# and brought to the schema version of this admin-tools image on every run, so an image upgrade
# migrates them before the new server starts. Runs in the temporalio/admin-tools image.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
PORT="${DB_PORT:-5432}"
SCHEMA_DIR="${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"

sql_tool() {
  temporal-sql-tool --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "$PORT" --user "$POSTGRES_USER" "$@"
}

for database in temporal temporal_visibility; do
  case "$database" in
    temporal) versions="$SCHEMA_DIR/temporal/versioned" ;;
    *) versions="$SCHEMA_DIR/visibility/versioned" ;;
  esac
  if sql_tool --db "$database" create; then
    echo "Created database $database"
    sql_tool --db "$database" setup-schema -v 0.0
  else
    echo "Database $database exists"
  fi
  sql_tool --db "$database" update-schema -d "$versions"
done
echo "Temporal schema on PostgreSQL is current"
