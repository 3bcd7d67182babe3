# Two commands for a fresh machine: `make run` and `make test`. Everything else is installed from scratch.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7071
DEV_STAMP := $(VENV)/.dev-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test lint typecheck unit bench install clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(DEV_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(DEV_STAMP)

$(BENCH_STAMP): $(DEV_STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

install: $(DEV_STAMP)

run: $(DEV_STAMP)
	$(PY) -m funchost start --script-root . --port $(PORT)

lint: $(DEV_STAMP)
	$(PY) -m ruff check .

typecheck: $(DEV_STAMP)
	$(PY) -m mypy

unit: $(DEV_STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

test: lint typecheck unit

bench: $(BENCH_STAMP)
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .funchost .pytest_cache .mypy_cache .ruff_cache
