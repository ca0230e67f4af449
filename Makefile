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
	$(BIN)/python -m localaws demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m bench

# The Lambda zips: dist/reconciler.zip (the reconciler and its dependencies, for
# `reconciler bootstrap`) and dist/rotation_lambda.zip; RDS_CA_BUNDLE=path/to/global-bundle.pem
# puts the RDS CA in the rotation zip. docs/packaging.md says what each carries.
package: $(STAMP)
	$(BIN)/python -m reconciler.bundle --out-dir dist

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
