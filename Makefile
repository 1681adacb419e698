# `make run` starts the platform, `make demo` walks through it (with `make run` up in another
# terminal), `make test` runs the suite; all bootstrap the
# venv and node_modules first (only when requirements or the lock file changed).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run demo test test-fast bootstrap clean-data

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bootstrap: $(VENV)/.installed node_modules/.installed

run: bootstrap
	$(PY) scripts/run_platform.py

# The guided tour on the parts `make run` started, with its settings (`make demo DEMO_ARGS=--fresh`).
demo: bootstrap
	$(PY) scripts/run_platform.py demo $(DEMO_ARGS)

test: bootstrap
	$(PY) -m pytest $(PYTEST_ARGS)

# Skips the end-to-end tests marked slow.
test-fast: bootstrap
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

clean-data:
	rm -rf data
