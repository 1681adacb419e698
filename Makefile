# `make run` starts the platform, `make test` runs the suite; both bootstrap the
# venv and node_modules first (only when requirements or the lock file changed).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test test-fast bootstrap clean-data

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

test: bootstrap
	$(PY) -m pytest $(PYTEST_ARGS)

# Skips the end-to-end tests marked slow.
test-fast: bootstrap
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

clean-data:
	rm -rf data
