# One set of commands for people and CI alike.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean migrate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## make run: Temporal (Web UI http://localhost:8233), migrate, the worker, the API (http://localhost:8000), demo data on first start.
run: $(STAMP)
	$(BIN)/python -m ops.run

# The sign-in tests' OpenID provider (npm's oidc-provider), installed from the npm registry when Node.js is
# here; without it those tests skip and say why.
OIDC_PROVIDER := tests/support/oidc/node_modules/.installed
$(OIDC_PROVIDER): tests/support/oidc/package.json tests/support/oidc/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/support/oidc --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the sign-in tests against a real OpenID provider will be skipped"; fi

# Independent FHIR validators for the export tests (HL7's JSON schema with Ajv, Medplum's validator).
FHIR_VALIDATORS := tests/support/fhir/node_modules/.installed
$(FHIR_VALIDATORS): tests/support/fhir/package.json tests/support/fhir/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/support/fhir --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the FHIR export tests against independent validators will be skipped"; fi

## make test: lint, type-check and the whole suite against real Temporal servers, a real OpenID provider and Chromium.
test: $(STAMP) lint $(OIDC_PROVIDER) $(FHIR_VALIDATORS)
	$(BIN)/python -m pytest

## make migrate: upgrade the database (DATABASE_URL, default var/pathways.db) to the newest schema (db area).
migrate: $(STAMP)
	$(BIN)/python -m core.db migrate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

## make api: the staff HTTP API (http://localhost:8000/docs) against the Temporal server of `make run`.
.PHONY: api
api: $(STAMP)
	$(BIN)/uvicorn web.app:create_app --factory --port 8000

## make bench: the benchmarks of issue 7 against a fresh dev server, written to docs/BENCHMARKS.md (not part of make test).
bench: $(STAMP)
	$(BIN)/python -m bench --output docs/BENCHMARKS.md
