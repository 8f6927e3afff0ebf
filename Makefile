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
	$(BIN)/python -m pytest -q --durations=15

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

## bench: end to end — N pre-signed applications (N=5000) from C clients (C=32) at full speed, then N more
##        offered at RATE/s (100) — on SQLite and, with EGOV_TEST_POSTGRES_URL, PostgreSQL; the gateway alone;
##        Kafka directly; signature checks next to openssl speed. One table; bench/results/latest.json and
##        latest.svg; PROFILE=1 adds a pass under py-spy (docs/performance.md)
bench: $(STAMP)
	$(BIN)/python -m bench --n $(or $(N),5000) --clients $(or $(C),32) --rate $(or $(RATE),100) \
		$(if $(EGOV_TEST_POSTGRES_URL),--postgres $(EGOV_TEST_POSTGRES_URL)) $(if $(PROFILE),--profile)

## chaos: thousands of applications while services, the broker, the НУЦ (and PostgreSQL) fail; prints one table
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --applications $(or $(N),2000) $(if $(EGOV_TEST_POSTGRES_URL),--postgres $(EGOV_TEST_POSTGRES_URL) --replicas)

## docs: build the documentation site into site/ (offline: the error catalogue from shared/errors.py, each service's OpenAPI with ReDoc)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --quiet --strict

clean:
	rm -rf .egov .pytest_cache site
