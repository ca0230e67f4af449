# The two commands a newcomer runs: `make demo` and `make test`.
# Each creates .venv on first use and reinstalls only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench package clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m harness demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

SCEPTRE_VENV  := .venv-sceptre
SCEPTRE_STAMP := $(SCEPTRE_VENV)/.installed

$(SCEPTRE_STAMP): pyproject.toml
	@test -x $(SCEPTRE_VENV)/bin/python || $(PYTHON) -m venv $(SCEPTRE_VENV)
	$(SCEPTRE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check '.[sceptre]'
	@touch $(SCEPTRE_STAMP)

bench: $(BENCH_STAMP) $(SCEPTRE_STAMP)
	SCEPTRE_PYTHON=$(SCEPTRE_VENV)/bin/python $(BIN)/python -m bench

# The Lambda zips: dist/reconciler.zip (the reconciler and its dependencies, for
# `reconciler bootstrap`) and dist/rotation_lambda.zip; RDS_CA_BUNDLE=path/to/global-bundle.pem
# puts the RDS CA in the rotation zip. docs/packaging.md says what each carries.
package: $(STAMP)
	$(BIN)/python -m reconciler.bundle --out-dir dist

clean:
	rm -rf $(VENV) $(SCEPTRE_VENV) build dist *.egg-info .pytest_cache .ruff_cache
