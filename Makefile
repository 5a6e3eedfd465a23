# The two commands: `make up` (a running platform) and `make test` (the whole test suite).
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STATE  ?= .dev

.PHONY: up down status test unit lint bench bench-migration soak mutation system-deps venv lambda-zip \
	wheels base-image images compose-up compose-down compose-test deploy terraform-check

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml \
		services/*/pyproject.toml gateway/pyproject.toml aws/lambdas/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

system-deps:
	@devstack/system-deps.sh

## Start the whole platform in the background; returns when every part is healthy.
up: venv system-deps
	$(PY) -m devstack up --state $(STATE)

## Stop every process of the platform (data stays in $(STATE) for the next `make up`).
down:
	@if [ -x $(PY) ]; then $(PY) -m devstack down --state $(STATE); fi

## What runs, from each part's health check (`python -m devstack status` exits 1 on a
## crashed or unhealthy part; here the report says it, without make's own error line).
status: venv
	@$(PY) -m devstack status --state $(STATE) || true

## The unit tier alone: logic, no I/O, seconds.
unit: venv
	$(PY) -m pytest tests/unit -q $(PYTEST_ARGS)

## Every tier: unit, integration (one PostgreSQL), contract, e2e (whole stacks on other
## ports, the dashboard in Debian's chromium, and each benchmark's --quick mode with wrk:
## this installs both).
test: venv system-deps lint terraform-check
	@WITH_BROWSER=1 WITH_BENCH=1 devstack/system-deps.sh
	$(PY) -m pytest $(PYTEST_ARGS)

## The operators' pool's UserMigration trigger as a Lambda deployment package (standard
## library only: the zip is the one module; handler `user_migration.handler`, Python 3.11+).
lambda-zip: build/lambdas/user_migration.zip

build/lambdas/user_migration.zip: aws/lambdas/user_migration.py
	mkdir -p build/lambdas
	$(PYTHON) -m zipfile -c $@ $<
	@echo "built $@ (handler: user_migration.handler)"

## checkov on the Terraform files (aws/infrastructure): 0 failed checks, every skip written
## with its reason in the file. Offline (--skip-download); in its own virtualenv, whose pins
## clash with constraints.txt's (aws/infrastructure/requirements-checkov.txt).
CHECKOV_VENV := build/venv-checkov

terraform-check: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --directory aws/infrastructure --framework terraform \
		--var-file aws/infrastructure/prod.example.tfvars --skip-download --compact --quiet
	@# terraform's own formatting, where a terraform binary is installed (it needs no provider).
	@if command -v terraform >/dev/null 2>&1; then \
		terraform fmt -check -recursive aws/infrastructure >/dev/null 2>&1 \
		|| { echo "aws/infrastructure: not as terraform fmt writes it; run terraform fmt -recursive aws/infrastructure"; exit 1; }; \
	else echo "[terraform-check] no terraform binary: formatting not checked"; fi

$(CHECKOV_VENV)/.installed: aws/infrastructure/requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

## Lint and types (ruff: pycodestyle, pyflakes, import order, bugbear, pyupgrade; mypy;
## settings in pyproject.toml).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

## Mutation check (not part of `make test`): break each security and money rule in a
## scratch copy, run the tests named for it, report caught/survived. MUTATIONS="a b" for some.
mutation: venv system-deps
	$(PY) -m mutation $(MUTATIONS)

## Benchmarks on a running `make up` stack: gateway overhead (wrk), bookings page cost,
## the revocation check. The stack's limits must exempt this machine, or the benchmarks
## stop at once, saying so (a figure is printed only when every request succeeded):
##   GATEWAY_RATE_LIMIT_EXEMPT=127.0.0.1/32 AUTH_RATE_LIMIT_EXEMPT=127.0.0.1/32 make up
## (a later plain `make up` restarts the gateway with the limits for everyone again).
## Each benchmark runs as a module (python -m bench.<name>); `make test` runs its --quick mode.
bench: venv
	@WITH_BENCH=1 devstack/system-deps.sh
	$(PY) -m bench.gateway_overhead --env $(STATE)/stack.env
	$(PY) -m bench.gateway_instructions --env $(STATE)/stack.env
	$(PY) -m bench.bookings_page --env $(STATE)/stack.env
	$(PY) -m bench.issuer_check --env $(STATE)/stack.env

## Soak (not part of `make test`, but its --quick mode is): 10 minutes of mixed traffic
## through the gateway of a running `make up` stack, under its production limits; no
## failed request, memory flat within 10%, no pool exhaustion.
soak: venv
	$(PY) -m bench.soak --env $(STATE)/stack.env

## The move of 1,000,000 packages to RDS, on a stack of its own (state .dev-bench-migration,
## ports +2000; figures in docs/benchmarks.md). BENCH_ARGS passes options, e.g. the write
## rate this machine reaches: BENCH_ARGS="--writes-per-second 120".
bench-migration: venv system-deps
	$(PY) -m bench.migration_move $(BENCH_ARGS)

## Containers (docker-compose.yml; a Docker engine, or Debian's docker.io which this installs).
## The Python packages every image installs, built once on this machine (no registry or
## TLS trust needed inside a build), pinned by constraints.txt; this checkout's own
## distributions are built again each time (seconds), so an image never has stale code.
## This checkout's distributions: the shared library, each part's folder in the registry of
## services (shared/travel_platform/services.json; SERVICES_REGISTRY names another), the trigger.
## (Read when used, so only the targets that build wheels need the file.)
SERVICES_REGISTRY ?= shared/travel_platform/services.json
REGISTRY_FOLDERS = $(or $(shell $(PYTHON) -c 'import json, sys; \
	parts = json.load(open(sys.argv[1]))["parts"]; \
	print(" ".join(dict.fromkeys("./" + p["folder"] for p in parts)))' $(SERVICES_REGISTRY)), \
	$(error cannot read the services registry $(SERVICES_REGISTRY)))
LOCAL_DISTS = ./shared $(REGISTRY_FOLDERS) ./aws/lambdas

wheels: build/wheels/.third-party
	$(VENV)/bin/pip wheel --quiet --disable-pip-version-check --no-deps -w build/wheels $(LOCAL_DISTS)

build/wheels/.third-party: venv requirements.txt constraints.txt shared/pyproject.toml \
		services/*/pyproject.toml gateway/pyproject.toml aws/lambdas/pyproject.toml
	rm -rf build/wheels
	$(VENV)/bin/pip wheel --quiet --disable-pip-version-check -c constraints.txt -w build/wheels \
		-r requirements.txt 'moto[server]' $(LOCAL_DISTS)
	touch $@

## debian:bookworm-slim, pulled or, with no registry, made with debootstrap.
base-image:
	@devstack/containers/engine.sh >/dev/null
	devstack/containers/base-image.sh

## Every image docker-compose.yml names (travel-platform/<part>:$(IMAGE_TAG)).
images: wheels base-image
	DOCKER_BUILDKIT=0 COMPOSE_PROJECT_NAME=travel-platform $$(devstack/containers/engine.sh) build

## The platform in containers: gateway on 127.0.0.1:8080, settings in .compose/stack.env.
compose-up: images
	devstack/containers/compose.sh up

## Stop and remove the containers; the data stays in the named volumes.
compose-down:
	devstack/containers/compose.sh down

## Replace one service's containers by its rebuilt image with no failed request (and
## SCALE=n: run n replicas of it). See devstack/containers/deploy.py.
deploy: venv
	$(PY) -m devstack.containers.deploy $(SERVICE) $(if $(SCALE),--scale $(SCALE))

## The e2e tier against the containers, as CI runs it: every image built, the compose stack
## started afresh (its volumes dropped first: this replaces `make compose-up`'s data), the
## tests pointed at it by TEST_STACK_ENV (those that need devstack's own stacks are skipped;
## tests/e2e/test_containers.py runs only here), then the stack removed, pass or fail.
## The test run calls from this machine through Docker's bridge: those addresses are exempt
## from the rate limits, as 127.0.0.1 is for `make test`.
COMPOSE_TEST_EXEMPT := 127.0.0.1/32,172.16.0.0/12
compose-test: venv system-deps images
	@WITH_BROWSER=1 devstack/system-deps.sh
	devstack/containers/compose.sh down -v
	rm -rf .compose
	GATEWAY_RATE_LIMIT_EXEMPT=$(COMPOSE_TEST_EXEMPT) AUTH_RATE_LIMIT_EXEMPT=$(COMPOSE_TEST_EXEMPT) \
		devstack/containers/compose.sh up
	TEST_STACK_ENV=.compose/stack.env $(PY) -m pytest tests/e2e $(PYTEST_ARGS); \
		status=$$?; devstack/containers/compose.sh down -v; exit $$status
