# One entry point for people and CI. `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck pytest generate docs docs-build demo bench clean dist wheel-check bump \
	changelog tag publish image-release

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP) lint typecheck pytest docs-build

lint: $(STAMP)
	$(BIN)/ruff check lianke_bridge tests scripts bench
	$(BIN)/ruff format --check lianke_bridge tests scripts bench
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (pytest-xdist; PYTEST_WORKERS=0 runs in one process, e.g. with a debugger).
PYTEST_WORKERS ?= 2

pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --cov --cov-report=term-missing $(PYTEST_ARGS)

# Every file rendered from the code's definitions (schemas, command tables, AsyncAPI, config
# reference): scripts/generators/. tests/test_generated.py fails when one is stale.
generate: $(STAMP)
	$(BIN)/python scripts/generate.py

# The documentation site (mkdocs.yml, docs/): `make docs` serves it while you edit; `make
# docs-build` builds it as CI does, failing on a broken link, a missing anchor or a page left out
# of the navigation, in English and in Chinese. (NO_MKDOCS_2_WARNING: Material's notice about its
# successor, not a warning.) No --quiet: mkdocs 1.6 then drops its warnings before --strict counts
# them, and a build with broken links passes.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

docs: $(STAMP)
	$(MKDOCS) serve

docs-build: $(STAMP)
	$(MKDOCS) build --strict --site-dir $(VENV)/site

# The benchmark (bench/, a few minutes; not part of `make test`): BENCH_ARGS=--help for options.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

demo: $(STAMP)
	$(BIN)/lianke-bridge demo

# ---- a release (RELEASING.md: one command per step) ----------------------------------------
# The version lives in lianke_bridge/__init__.py only; `make bump VERSION=X.Y.Z` writes it.
VERSION ?= $(shell $(PYTHON) scripts/release.py version)

bump:
	$(PYTHON) scripts/release.py bump $(VERSION)

changelog:
	$(PYTHON) scripts/release.py changelog

# an annotated vX.Y.Z tag on a committed tree whose version and changelog are ready
tag:
	$(PYTHON) scripts/release.py check
	git diff --quiet HEAD || { echo "commit first: the tag names a commit"; exit 1; }
	git tag -a v$(VERSION) -m "lianke-bridge $(VERSION)"

# the sdist and wheel in dist/, checked as the package index checks them
dist: $(STAMP)
	rm -rf dist
	@echo "$(BIN)/python -m build --outdir dist . (its log: $(VENV)/build.log)"
	@$(BIN)/python -m build --outdir dist . >$(VENV)/build.log 2>&1 || { cat $(VENV)/build.log; exit 1; }
	@tail -n 1 $(VENV)/build.log
	$(BIN)/twine check --strict dist/*

# the built wheel in a fresh virtual environment: --version and the demo's first print (CI)
wheel-check: dist
	$(BIN)/python scripts/wheel_check.py dist

# to PyPI (twine asks for the token, or reads TWINE_PASSWORD), then the image to the registry
publish: dist
	$(PYTHON) scripts/release.py check
	$(BIN)/twine upload dist/*

image-release:
	$(PYTHON) scripts/release.py check
	VERSION=$(VERSION) REVISION=$$(git rev-parse HEAD) docker buildx bake release --push

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache .coverage dist build
