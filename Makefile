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
# the simulated world starts on 2024-01-01; the online store is built as of its end, not of today
WORLD_END = $(shell $(PYTHON) -c "print(f'{2024 + ($(MONTHS)) // 12}-{($(MONTHS)) % 12 + 1:02d}-01')")

.PHONY: install demo test lint bench bench-prototype calibrate clean mlflow-ui container-check

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
	$(VENV)/bin/csat features build --as-of $(WORLD_END)
	$(VENV)/bin/csat train --target all
	$(VENV)/bin/csat serving import
	$(VENV)/bin/csat score-all
	@bash scripts/demo_serve.sh $(VENV)/bin/csat

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy csat features training serving bench

test: install
	@bash scripts/ensure_browser.sh
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy csat features training serving bench
	$(PY) -m pytest -q

bench: install
	$(PY) -m bench.run

# Issue #3's prototype (not a product benchmark): the six blocks of collaboration features computed from the
# raw files by compiled passes and by the engine's SQL, on the scale world, checked equal (ARGS=--files-only
# times the files' path alone). It compiles with numba, which the locked packages hold already (shap needs it).
bench-prototype: install
	$(PY) -m bench.prototype_sweep $(ARGS)

calibrate: install
	$(PY) -m bench.calibrate_simulator

# MLflow UI on the project's tracking store (settings: csat.toml / CSAT_*); PORT=5000 by default.
PORT ?= 5000
mlflow-ui: install
	$(VENV)/bin/csat ui --port $(PORT)

# Builds the serving image with podman from a local debootstrap base (no registry needed), runs it on a tiny
# world with models and store mounted, then baked in; waits for /readyz, scores an account, removes it.
container-check: install
	bash scripts/container_check.sh

clean:
	rm -rf data store bench/results .pytest_cache
