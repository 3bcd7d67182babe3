# Two commands for a fresh machine: `make run` and `make test`. Everything else is installed from scratch.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7071
DEV_STAMP := $(VENV)/.dev-installed
RUN_STAMP := $(VENV)/.run-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test lint typecheck unit bench install clean prometheus chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(DEV_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(DEV_STAMP)

# `make run` needs only the app and the host, not the test toolchain; `make test` installs the rest.
$(RUN_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $(RUN_STAMP)

$(BENCH_STAMP): $(DEV_STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

install: $(DEV_STAMP)

# Sync activities (the agents' CPU-heavy searches) run in worker processes at a lower priority, as
# FUNCTIONS_WORKER_PROCESS_COUNT does in Azure, so HTTP and player sessions stay responsive.
run: $(if $(wildcard $(DEV_STAMP)),$(DEV_STAMP),$(RUN_STAMP))
	$(PY) -m funchost start --script-root . --port $(PORT) --activity-processes 2

lint: $(DEV_STAMP)
	$(PY) -m ruff check .

typecheck: $(DEV_STAMP)
	$(PY) -m mypy

# The observability tests scrape the host with a real Prometheus (Debian package).
prometheus:
	@command -v prometheus >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

# The monitor's browser tests drive Debian's Chromium headless through Playwright (no browser download).
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

unit: $(DEV_STAMP) prometheus chromium
	$(PY) -m pytest -q -p no:cacheprovider

test: lint typecheck unit

bench: $(BENCH_STAMP)
	$(PY) -m bench.run_all

# Python 3.13 with azure-functions 2.x: what Azure's newest Python worker (azure-functions-runtime) runs.
PYTHON313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
VENV313 ?= .venv-py313
STAMP313 := $(VENV313)/.installed

.PHONY: test-py313 azure-fidelity

$(STAMP313): pyproject.toml
	$(PYTHON313) -m venv $(VENV313)
	$(VENV313)/bin/python -m pip install -q --upgrade pip
	$(VENV313)/bin/python -m pip install -q -e '.[dev]' 'azure-functions>=2,<3'
	touch $(STAMP313)

test-py313: $(STAMP313)
	$(VENV313)/bin/python -m pytest -q -p no:cacheprovider

azure-fidelity: $(DEV_STAMP)
	$(PY) -m tests.azure_fidelity.worker_env
	$(PY) -m pytest -q -p no:cacheprovider tests/azure_fidelity

clean:
	rm -rf $(VENV) $(VENV313) .venv-azure313 .funchost .pytest_cache .mypy_cache .ruff_cache
