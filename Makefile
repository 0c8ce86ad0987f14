# The README's two set-up commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORPUS ?= ../shared/seeds
QUERY  ?= in-context learning in large language models
QUESTION ?= How do transformers learn in context, and what role does pretraining data play?
TOPIC  ?= in-context learning

.PHONY: demo demo-update test install bench faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/reviewer ingest $(CORPUS)
	$(BIN)/reviewer search "$(QUERY)" -k 8
	$(BIN)/reviewer ask "$(QUESTION)"
	$(BIN)/reviewer review "$(TOPIC)" --out out

# A living review (README, "Keeping a review up to date"): three weekly pages, a draft, the fourth page, an update.
PAGES := $(sort $(wildcard $(CORPUS)/*.txt))
LIVING_TOPIC ?= $(TOPIC)
demo-update: $(STAMP)
	rm -rf .reviewer-living living
	$(BIN)/reviewer ingest $(wordlist 1,3,$(PAGES)) --db .reviewer-living
	$(BIN)/reviewer review "$(LIVING_TOPIC)" --out living --db .reviewer-living
	$(BIN)/reviewer ingest $(word 4,$(PAGES)) --db .reviewer-living
	$(BIN)/reviewer review --update living --db .reviewer-living
	cat living/CHANGES.md

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/query_latency.py
	$(BIN)/python benchmarks/review_tokens.py --db .reviewer
	$(BIN)/python benchmarks/review_update.py
	$(BIN)/python benchmarks/peers.py

# The fault suite: hostile inputs, CLI and settings misuse, damaged data, Chroma-server faults, concurrent
# ingests, LLM endpoint faults; prints one table and its totals (1-2 minutes on 2 cores).
faults: $(STAMP)
	$(BIN)/python benchmarks/faults.py

clean:
	rm -rf $(VENV) .reviewer out .reviewer-living living

# Re-record the LLM cassettes (cassettes/recorded/) against the configured endpoint, then replay them all:
#   REVIEWER_LLM__BASE_URL=http://127.0.0.1:8080/v1 REVIEWER_LLM__MODEL=smollm2 make record   (a local server)
#   OPENAI_API_KEY=sk-... REVIEWER_LLM__MODEL=gpt-4o-mini make record                        (OpenAI)
# The hand-written fault cassettes (cassettes/faults/) are never re-recorded. See scripts/record.py.
.PHONY: record
record: $(STAMP)
	$(BIN)/python scripts/record.py
