# egov-sim — the two commands a newcomer needs: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: run test test-unit test-integration bench chaos docs clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: set up and start the whole system on the embedded defaults (Ctrl-C stops it)
run: $(STAMP)
	$(BIN)/egov up

## test: set up and run the whole test suite (PostgreSQL tests too when EGOV_TEST_POSTGRES_URL is set)
test: $(STAMP)
	$(BIN)/python -m pytest -q

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

## bench: print figures (signature verifications per second next to openssl speed, …)
bench: $(STAMP)
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/gateway.py

## chaos: thousands of applications while services, the broker, the НУЦ (and PostgreSQL) fail; prints one table
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --applications $(or $(N),2000) $(if $(EGOV_TEST_POSTGRES_URL),--postgres $(EGOV_TEST_POSTGRES_URL))

## docs: build the documentation site into site/ (offline: the error catalogue from shared/errors.py, each service's OpenAPI with ReDoc)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --quiet --strict

clean:
	rm -rf .egov .pytest_cache site
