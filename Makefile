# The portal's two commands: `make run` serves it with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ASSETS := static/build/portal.css static/build/govuk-frontend.min.js

.PHONY: run test install install-production assets bench lint format screenshots clean

run: install
	$(BIN)/portal migrate
	$(BIN)/portal demo --if-empty
	$(BIN)/portal serve

test: install
	$(BIN)/pytest -n auto --dist worksteal

install: $(INSTALLED) $(ASSETS)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# Production (docs/operations.md): what the portal needs to run, the Redis client, compiled
# styles; no test tools. Editable, so the portal finds its templates, static files and
# migrations in this checkout.
install-production: $(ASSETS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[production]'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

assets: $(ASSETS)

static/build/portal.css: node_modules/.package-lock.json $(wildcard static/scss/*.scss)
	mkdir -p static/build
	npx --no-install sass --load-path=node_modules --style=compressed --no-source-map \
		static/scss/portal.scss static/build/portal.css

static/build/govuk-frontend.min.js: node_modules/.package-lock.json
	mkdir -p static/build
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js $@

LIGHTHOUSE := tools/lighthouse/node_modules/.package-lock.json

# Page weight and Lighthouse first (a minute), then the database and load benchmarks, comment
# screening on one core (half a minute), and the burst.
bench: install $(LIGHTHOUSE)
	$(BIN)/python -m tests.bench.pages
	$(BIN)/python -m tests.bench
	$(BIN)/python -m tests.bench.screening
	$(BIN)/python -m tests.bench.burst --database sqlite
	$(BIN)/python -m tests.bench.burst --database postgresql
	$(BIN)/python -m tests.bench.moderation --database sqlite
	$(BIN)/python -m tests.bench.moderation --database postgresql

# Lighthouse has its own package.json, so the app's `npm ci` stays small.
$(LIGHTHOUSE): tools/lighthouse/package.json tools/lighthouse/package-lock.json
	cd tools/lighthouse && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

screenshots: install
	PORTAL_SCREENSHOTS=1 $(BIN)/pytest tests/browser -k screenshot

clean:
	rm -rf $(VENV) node_modules static/build
