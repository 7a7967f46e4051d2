#!/bin/sh
# First start of the PostgreSQL container only (docker-entrypoint-initdb.d): the application's own role
# and database, apart from Temporal's (temporal, temporal_visibility, made by the schema set-up job).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v password="$PATHWAYS_DB_PASSWORD" <<'SQL'
CREATE ROLE pathways LOGIN PASSWORD :'password';
CREATE DATABASE pathways OWNER pathways;
SQL
