# Chestnut — `make run` starts the platform, `make test` runs every test tier.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
PORT   ?= 8080
HOST   ?= 127.0.0.1
# PostgreSQL for the service tests (CI: 127.0.0.1:5432, trust auth, database `test`).
export CHESTNUT_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run test lint typecheck unit integration e2e bench clean browser

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/chestnut db upgrade
	$(VENV)/bin/chestnut demo --if-empty
	$(VENV)/bin/chestnut serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

integration: $(STAMP)
	$(PY) -m pytest tests/integration -q

e2e: $(STAMP) browser
	$(PY) -m pytest tests/e2e -q

# Two workers, a whole test file on one worker at a time (its module fixtures are built once): most of
# a test's time is waiting on a database or a process, so two of them share the two cores well.
test: $(STAMP) browser lint typecheck
	$(PY) -m pytest tests -q -p no:cacheprovider -n 2 --dist loadfile

# The web chat's browser test drives Debian's Chromium through Playwright (which never downloads a browser
# here) and needs fonts for Korean and emoji to render the page. Installed once where missing; quiet when present.
CHROMIUM ?= /usr/bin/chromium
BROWSER_FONTS = fonts-nanum fonts-noto-color-emoji
SUDO     := $(shell test "$$(id -u)" = 0 || echo sudo)
browser:
	@if ! test -x $(CHROMIUM) || ! dpkg -s $(BROWSER_FONTS) >/dev/null 2>&1; then \
	  echo "installing Debian's chromium and fonts ($(BROWSER_FONTS)) for the web chat browser test"; \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	      chromium $(BROWSER_FONTS) >/dev/null; } \
	  || echo "could not install chromium: the browser test will skip (and fail under CI=true)"; \
	fi

bench: $(STAMP)
	CHESTNUT_HOME=$$(mktemp -d) $(VENV)/bin/chestnut bench ledger --entries 50000 --json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
