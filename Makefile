# The two commands a new user runs: `make demo` and `make test`. Both create .venv when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
UV_VERSION := 0.13.9
DATA := data/raw
ACCOUNTS ?= 2000
MONTHS ?= 24
SEED ?= 42

.PHONY: install demo test lint bench calibrate clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)" \
	  && $(VENV)/bin/uv pip install -q --python $(PY) -r requirements.lock \
	  && $(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e . \
	  || { echo "uv unavailable, falling back to pip"; \
	       $(PY) -m pip install -q -r requirements.lock && $(PY) -m pip install -q --no-deps -e .; }
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/csat simulate --accounts $(ACCOUNTS) --months $(MONTHS) --seed $(SEED) --scenario default --out $(DATA)
	$(VENV)/bin/csat validate $(DATA)
	$(VENV)/bin/csat features build
	$(VENV)/bin/csat train --target all

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy csat features training serving

test: install
	$(PY) -m ruff check .
	$(PY) -m pytest -q

bench: install
	$(PY) -m bench.run

calibrate: install
	$(PY) -m bench.calibrate_simulator

clean:
	rm -rf data store bench/results .pytest_cache
