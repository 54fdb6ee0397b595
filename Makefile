# Lattice: `make dev` runs the whole product locally, `make test` runs every check.
# Both install what they need (uv, the Python dependencies, the client's packages).

SHELL := /bin/bash
TOOLS := .lattice/tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
NPM_CI := npm ci --no-audit --no-fund --loglevel=error

.PHONY: dev test setup lint typecheck pytest schema client-setup client-build client-check

dev: setup client-build
	$(UV) run python -m devstack.dev

test: setup lint typecheck pytest client-check

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

client-setup:
	@if [ -f client/package.json ]; then cd client && $(NPM_CI); fi

client-build: client-setup
	@if [ -f client/package.json ]; then cd client && npm run build; fi

client-check: client-setup
	@if [ -f client/package.json ]; then cd client && npm run check; fi
