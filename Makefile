# Secto platform. `make run` and `make test` work on a fresh machine: they create the
# virtualenv, install the pinned dependencies and, when no broker answers at AMQP_URI,
# install and start a loopback RabbitMQ under var/.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
AMQP_URI ?= amqp://guest:guest@127.0.0.1:5672/
SCALE ?=
PYTEST_ARGS ?=
export AMQP_URI

.PHONY: run stop test test-postgres deps broker broker-stop migrate bench faults clean retention-dry-run

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

deps: $(VENV)/.installed

broker: deps
	$(PY) deploy/local/broker.py ensure

broker-stop:
	$(PY) deploy/local/broker.py stop

# Foreground: every service and the gateway as separate processes; Ctrl-C stops them.
run: deps
	$(PY) -m deploy.local.run --scale '$(SCALE)'

# Stops a run by the pids it recorded (and the broker it started, if any).
stop:
	$(PY) -m deploy.local.run --stop

test: deps
	$(PY) -m deploy.local.test $(PYTEST_ARGS)

# The integration tests with every service on PostgreSQL (a loopback server under var/,
# started like the broker; a fresh database per service and stack).
SECTO_PG_URI ?= postgresql://postgres@127.0.0.1:5433/postgres
export SECTO_PG_URI
test-postgres: deps
	$(PYTHON) deploy/local/postgres.py ensure
	SECTO_TEST_POSTGRES_URI=$(SECTO_PG_URI) $(PY) -m deploy.local.test tests $(PYTEST_ARGS)

migrate: deps
	$(PY) -m shared.migrate upgrade

# Fault test of the partner fueling pipeline on a private broker (restart + kill -9); ~1 min.
faults: deps
	SECTO_FAULTS=1 $(PY) -m deploy.local.test tests/test_partner_faults.py -q -s $(PYTEST_ARGS)

# What each running service's retention timer would remove today (removes nothing; needs `make run`).
retention-dry-run: deps
	$(PY) -m deploy.local.retention_dry_run

bench: deps
	$(PY) -m deploy.local.test --bench

clean:
	rm -rf $(VENV) var
