# Two-command set-up: `make demo` and `make test` each create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest vectors bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/blindpost demo

test: $(STAMP)
	$(BIN)/ruff check protocol tests bench
	$(BIN)/mypy --strict protocol
	$(BIN)/python -m pytest -q

vectors: $(STAMP)
	$(BIN)/blindpost vectors generate
	$(BIN)/blindpost vectors verify

PEERS_STAMP := $(VENV)/.installed-peers

$(PEERS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,peers]'
	touch $(PEERS_STAMP)

bench: $(PEERS_STAMP)
	$(BIN)/python -m pytest bench --benchmark-only -q
	$(BIN)/python bench/compare.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
