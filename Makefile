# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 7071
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench install clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m funchost start --script-root . --port $(PORT)

lint: $(STAMP)
	$(PY) -m ruff check .

typecheck: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -q -x -p no:cacheprovider

test: lint typecheck unit

bench: $(STAMP)
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .funchost .pytest_cache .mypy_cache .ruff_cache
