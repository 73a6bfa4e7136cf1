# referral-hub: the README's commands. Everything runs from .venv, created here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The test stack lives apart from the `make up` stack, so both can run at once.
TEST_ENV := HUB_STATE_DIR=$(CURDIR)/.state/test HUB_KAFKA_PORT=29092 \
	HUB_KAFKA_CONTROLLER_PORT=29093 HUB_PG_PORT=55433

# The chaos suite starts a three-node cluster of its own (tests/chaos, docs/reliability.md).
# Its ports sit below Linux's ephemeral range (32768-60999): a client connection that happens
# to hold a port there cannot stop a node from starting.
CHAOS_ENV := HUB_CHAOS_STATE_DIR=$(CURDIR)/.state/chaos HUB_CHAOS_KAFKA_PORT=24092 \
	HUB_CHAOS_KAFKA_CONTROLLER_PORT=24093 HUB_CHAOS_PG_PORT=25449

.PHONY: prerequisites install up down demo status lint test test-keep test-down screenshots bench chaos clean

# Every target starts here, so `make up` and `make test` set up a fresh machine themselves.
prerequisites: ## apt-get what this machine lacks (Java 17, Maven, Chromium...: infra/prerequisites.sh)
	PYTHON=$(PYTHON) bash infra/prerequisites.sh install

install: prerequisites $(STAMP) ## the system packages above, then .venv with the project in it

$(STAMP): pyproject.toml schemas/pyproject.toml | prerequisites
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./schemas -e '.[dev]'
	touch $(STAMP)

up: install ## start Kafka, PostgreSQL and every service; load the demo directory
	$(BIN)/hub up
	$(BIN)/hub directory load infra/directory/cumbria.yaml

down: install ## stop what `make up` started
	$(BIN)/hub down

demo: install ## publish the sample Cumbria intelligence stream
	$(BIN)/hub demo

status: install
	$(BIN)/hub status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: install ## lint, then the whole suite (chaos included) on real brokers and databases; stops the test stack after
	$(MAKE) lint
	$(TEST_ENV) $(BIN)/hub infra up
	$(TEST_ENV) $(CHAOS_ENV) $(BIN)/pytest; status=$$?; $(TEST_ENV) $(BIN)/hub infra down; exit $$status

test-keep: install ## the suite without lint, leaving the test stack running (faster reruns)
	$(TEST_ENV) $(BIN)/hub infra up
	$(TEST_ENV) $(BIN)/pytest $(ARGS)

test-down: install
	$(TEST_ENV) $(BIN)/hub infra down

screenshots: install ## rewrite docs/screenshots from the browser tests (leaves the test stack up)
	$(TEST_ENV) $(BIN)/hub infra up
	HUB_UPDATE_SCREENSHOTS=1 $(TEST_ENV) $(BIN)/pytest tests/browser

# The benchmark runs on a stack of its own (docs/performance.md).
BENCH_ENV := HUB_STATE_DIR=$(CURDIR)/.state/bench HUB_KAFKA_PORT=39092 \
	HUB_KAFKA_CONTROLLER_PORT=39093 HUB_PG_PORT=55439

bench: install ## benchmark on its own stack; ARGS=--smoke for a quick one
	$(BENCH_ENV) $(BIN)/python -m bench.run $(ARGS)

chaos: install ## faults under load on a three-node cluster of its own; prints what each fault cost
	$(CHAOS_ENV) $(BIN)/pytest -m chaos tests/chaos $(ARGS)

clean: down test-down
	rm -rf .state
