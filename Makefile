# voicegw — every target creates the virtual environment it needs on demand.
#   make demo   set up, then run the demo against the local emulators
#   make test   set up, then lint, types, the whole suite, the docs build, and the
#               distributions installed alone (core alone; each plugin beside core alone),
#               and the built distributions checked as an index would (make dist)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DISTS  := core/pyproject.toml plugins/itniotech/pyproject.toml plugins/huawei/pyproject.toml
PIP    := pip install --quiet --disable-pip-version-check

.PHONY: all venv demo test lint types pytest docs bench soak alone dist clean

all: test

$(STAMP): $(DISTS) requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/$(PIP) -e core -e plugins/itniotech -e plugins/huawei -r requirements-dev.txt
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/voicegw demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

# Each distribution installed (not editable) in an environment of its own, with only what it
# declares, runs its own tests there: a missing dependency declaration fails here.
alone:
	./scripts/test-alone core tests/core
	./scripts/test-alone itniotech tests/itniotech
	./scripts/test-alone huawei tests/huawei
	./scripts/test-example

# The sdist and wheel of every distribution, checked as an index would (twine check --strict),
# their contents checked (py.typed, licence, no tests), then installed alone to run the demo.
dist: $(STAMP)
	./scripts/check-dist

test: lint types pytest docs alone dist

bench: $(STAMP)
	$(BIN)/python -m bench

soak: $(STAMP)
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .venv-* build dist site .mypy_cache .ruff_cache .pytest_cache
