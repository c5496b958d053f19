# Two commands matter: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test eval bench lint soak clean

# Reinstall only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/contest-bot run

test: $(STAMP)
	$(BIN)/python -m pytest

# Accuracy on the development questions; `make eval ARGS=-v` lists the misses.
eval: $(STAMP)
	$(BIN)/contest-bot eval $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
