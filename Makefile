# Two commands are all the set-up anyone needs: `make build` and `make test`.
# Both create the virtual environment in .venv and install cpdgen into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: build test check bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

## build: install, then check the example portfolio in content/
build: $(INSTALLED)
	$(BIN)/cpdgen check

## test: install, then run the whole test suite
test: $(INSTALLED)
	$(BIN)/python -m pytest

## check: judge the example portfolio (the CI check a member runs)
check: $(INSTALLED)
	$(BIN)/cpdgen check

## bench: time cpdgen on a generated 1,000-activity portfolio
bench: $(INSTALLED)
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) site records .cpdgen-cache .pytest_cache .hypothesis
