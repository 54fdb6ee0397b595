# Lattice: `make dev` runs the whole product locally, `make test` runs every check.
# Both install what they need (uv, the Python dependencies, the client's packages).

SHELL := /bin/bash
TOOLS := .lattice/tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
NPM_CI := npm ci --no-audit --no-fund --loglevel=error

.PHONY: dev test setup lint typecheck pytest schema client-setup client-build client-check e2e bench browser

dev: setup client-build
	LATTICE_ENV=dev $(UV) run python -m devstack.dev

test: setup lint typecheck client-build pytest client-check e2e bench

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv

setup: $(UV)
	$(UV) sync --frozen --quiet

lint: setup
	$(UV) run ruff check src tests bench
	$(UV) run ruff format --check src tests bench

typecheck: setup
	$(UV) run mypy

pytest: setup
	$(UV) run pytest

# Regenerates schema.graphql from the Strawberry schema (a test fails when it is stale).
schema: setup
	$(UV) run python -m graph.export_schema

client/node_modules/.package-lock.json: client/package-lock.json
	cd client && $(NPM_CI)

client-setup: client/node_modules/.package-lock.json

client-build: client-setup
	cd client && npm run build

# Type-checks (strict), lints and unit-tests the client.
client-check: client-setup
	cd client && npm run check

# Debian's Chromium drives the browser tests (a browser download does not work offline).
browser:
	@command -v chromium >/dev/null || { \
	  [ "$$(id -u)" = 0 ] || { echo "install Debian's chromium (apt-get install chromium)"; exit 1; }; \
	  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }

# Browser tests against a whole stack of their own (fresh database, free ports).
e2e: setup client-build browser
	$(UV) run python -m devstack.e2e node client/e2e/run.mjs

# The first load of the dashboard must stay under 200 KB of gzip-compressed JavaScript.
bench: client-build
	node bench/client_bundle.mjs
