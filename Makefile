# One entry point for people and CI. `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check lianke_bridge tests scripts bench
	$(BIN)/ruff format --check lianke_bridge tests scripts bench
	$(BIN)/hadolint Dockerfile

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term-missing $(PYTEST_ARGS)

# The benchmark (bench/, a few minutes; not part of `make test`): BENCH_ARGS=--help for options.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

demo: $(STAMP)
	$(BIN)/lianke-bridge demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
