# Secto platform. `make run` and `make test` work on a fresh machine: they create the
# virtualenv, install the pinned dependencies and, when no broker answers at AMQP_URI
# (default in shared/config.py; `make run AMQP_URI=...` overrides it), install and start a
# loopback RabbitMQ under var/. Every module runs with `python -m`, under one name.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SCALE ?=
PYTEST_ARGS ?=

.PHONY: run stop test test-postgres deps broker broker-stop migrate bench faults clean retention-dry-run

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

deps: $(VENV)/.installed

broker: deps
	$(PY) -m deploy.local.broker ensure

broker-stop:
	$(PY) -m deploy.local.broker stop

# Foreground: every service and the gateway as separate processes; Ctrl-C stops them.
run: deps
	$(PY) -m deploy.local.run --scale '$(SCALE)'

# Stops a run by the pids it recorded (and the broker it started, if any).
stop:
	$(PY) -m deploy.local.run --stop

# The whole suite; without PYTEST_ARGS also POSTGRES_TESTS with every service on PostgreSQL
# (a loopback server under var/, installed and started like the broker and stopped after).
POSTGRES_TESTS ?= tests/test_lifecycle.py tests/test_fleet_api.py tests/test_driver_api.py tests/test_bola_matrix.py
test: deps
	$(PY) -m deploy.local.test $(PYTEST_ARGS)
	$(if $(PYTEST_ARGS),,$(PY) -m deploy.local.test --postgres -q $(POSTGRES_TESTS))

# The integration tests with every service on PostgreSQL (a loopback server under var/,
# started like the broker and stopped afterwards if it was started; a fresh database per
# service and stack).
SECTO_PG_URI ?= postgresql://postgres@127.0.0.1:5433/postgres
export SECTO_PG_URI
test-postgres: deps
	$(PY) -m deploy.local.test --postgres tests $(PYTEST_ARGS)

migrate: deps
	$(PY) -m shared.migrate upgrade

# Fault test of the partner fueling pipeline on a private broker (restart + kill -9) with
# 20 000 events (FAULTS_EVENTS); `make test` runs it with 5 000.
faults: deps
	SECTO_FAULTS=1 $(PY) -m deploy.local.test tests/test_partner_faults.py -q -s $(PYTEST_ARGS)

# What each running service's retention timer would remove today (removes nothing; needs `make run`).
retention-dry-run: deps
	$(PY) -m deploy.local.retention_dry_run

bench: deps
	$(PY) -m deploy.local.test --bench

clean:
	rm -rf $(VENV) var
