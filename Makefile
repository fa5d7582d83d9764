# Two commands on a fresh machine: `make run` and `make test`. Both bootstrap .venv once and reuse it.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# numba's on-disk kernel cache, shared by the CLI, the tests and Ray workers
export NUMBA_CACHE_DIR ?= $(CURDIR)/.venv/numba-cache

.PHONY: run test lint bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when the dependency list changes
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@ $(VENV)/.installed-dev $(VENV)/.installed-run

# evolve on the bundled BTC+ETH 1h data with the defaults (< 5 min on 2 cores); the run
# directory (runs/<run-id>/) is printed at start
run: $(VENV)/.installed-run
	$(BIN)/evolve run

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks

clean-venv:
	rm -rf $(VENV)
