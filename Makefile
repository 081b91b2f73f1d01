# Developer commands. Each target creates .venv (Python 3.11) on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format clean

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[tests]"
	touch $(STAMP)

## demo: start the local HubSpot emulator and run spec, check, discover and read against it
demo: $(STAMP)
	$(BIN)/python -m integration_tests.demo

## test: lint, then run the unit and integration tests
test: $(STAMP) lint
	$(BIN)/python -m pytest unit_tests integration_tests -ra

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) demo-output .pytest_cache .ruff_cache
