# Two commands matter: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser test drives Debian's Chromium through Playwright (never a browser Playwright
# downloads), with CJK and emoji fonts so the sandbox page looks as people see it.
BROWSER := /usr/bin/chromium /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
	/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf

.PHONY: run test test-fast eval bench lint soak clean screenshot train

# Reinstall only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev,train]'
	@touch $(STAMP)

# Installed only when missing (CI runs as root on Debian).
$(BROWSER) &:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk \
		fonts-noto-color-emoji

run: $(STAMP)
	$(BIN)/contest-bot run

test: $(STAMP) $(BROWSER)
	$(BIN)/python -m pytest

# While working: the pure tests only, no emulator world (e2e) and nothing slow, in seconds.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not e2e and not slow"

# Accuracy on the development questions and on the FAQ test sets (tests/data/faq*/); `make eval
# ARGS=-v` lists the misses.
eval: $(STAMP)
	$(BIN)/contest-bot eval $(ARGS)
	@set -e; for n in "" 2 3 4 5 6 7 8; do \
		$(BIN)/contest-bot eval-faq tests/data/faq$$n/faqtest$${n}_entries.jsonl \
			tests/data/faq$$n/faqtest$${n}_questions.jsonl $(ARGS); \
	done

# Retrain the intent model and the FAQ acceptor (knowledge/data/) from training/.
train: $(STAMP)
	$(BIN)/python -m knowledge.train

# Retake docs/sandbox.png, the README's picture of the sandbox page.
screenshot: $(STAMP) $(BROWSER)
	UPDATE_SCREENSHOT=1 $(BIN)/python -m pytest -q tests/test_browser.py

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

# The mixed workload against `contest-bot run` for MINUTES minutes: its memory (RSS) and errors.
# Not in CI. `make soak MINUTES=60 ARGS="--faults 0.05"`.
MINUTES ?= 5
soak: $(STAMP)
	$(BIN)/python -m bench.soak --minutes $(MINUTES) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
