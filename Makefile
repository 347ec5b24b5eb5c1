# Two-command set-up: `make demo` and `make test` each create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest vectors bench fuzz fuzz-all fuzz-list clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,server]'
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
	$(BIN)/python -m pip install --quiet -e '.[test,server,peers]'
	touch $(PEERS_STAMP)

bench: $(PEERS_STAMP)
	$(BIN)/python -m pytest bench --benchmark-only -q
	$(BIN)/python bench/compare.py

# Coverage-guided fuzzing (tests/fuzz/campaign.py; README "Fuzzing"). FUZZ_SECONDS is the budget
# of the whole run, divided equally between the targets run; TARGET picks one or more
# (comma-separated; `make fuzz-list` names them). FUZZ_RSS_MB is libFuzzer's -rss_limit_mb.
FUZZ_STAMP := $(VENV)/.installed-fuzz
FUZZ_SECONDS ?= 600
FUZZ_SECONDS_PER_TARGET ?= 600
FUZZ_RSS_MB ?= 512
TARGET ?=

$(FUZZ_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,server,fuzz]'
	touch $(FUZZ_STAMP)

fuzz: $(FUZZ_STAMP)
	$(BIN)/python tests/fuzz/campaign.py --seconds $(FUZZ_SECONDS) --rss-limit-mb $(FUZZ_RSS_MB) \
		$(if $(TARGET),--target $(TARGET))

# Every target for FUZZ_SECONDS_PER_TARGET each (default 600: about 7 hours), unattended; one
# summary line per target in tests/fuzz/work/summary.txt.
fuzz-all: $(FUZZ_STAMP)
	$(BIN)/python tests/fuzz/campaign.py --seconds-per-target $(FUZZ_SECONDS_PER_TARGET) \
		--rss-limit-mb $(FUZZ_RSS_MB)

fuzz-list: $(STAMP)
	$(BIN)/python tests/fuzz/harness.py --list

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
