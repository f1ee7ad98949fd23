# The two commands of the README:
#   make demo   install the pinned tools, generate a project from defaults, show what it produced
#   make test   install what the tests need (system packages, Python packages, the Claude Code CLI, LiteLLM) and
#               run every test
# and the workshop (docs/testing.md):
#   make test-unit   the logic: no copier render, no process started (under a minute)
#   make test-render the tests that generate projects with copier and read or run their files (not live)
#   make test-live   the `live` tests only
#   make lint        ruff, shellcheck on this repository's shell scripts, commit subjects since the last release
#   make goldens     refresh tests/golden (refused on a dirty tree: the refresh is a commit of its own)
#   make docs        regenerate docs/answers.md from copier.yml and the rules table
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= build/demo-project
CLAUDE_CLI := tests/claude-cli/node_modules/.bin/claude
LITELLM_VENV := .cache/litellm-venv
# LiteLLM's database mode for the live database tests: its own venv (prisma-client-python on top of the gateway
# pins) and the offline query-engine stand-in in tests/support/prisma-engine (test support, see its README).
LITELLM_DB_VENV := .cache/litellm-db-venv
PRISMA_ENGINE_DIR := tests/support/prisma-engine

.PHONY: demo test test-unit test-render test-live lint goldens docs system-packages tools pins
.PHONY: bench bench-gateway bench-overhead bench-database bench-ha bench-apps-gateway clean

$(VENV)/.tools-installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.test-tools-installed: $(VENV)/.tools-installed requirements-test.txt constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt -c constraints.txt
	touch $@

tests/claude-cli/node_modules/.installed: tests/claude-cli/package.json tests/claude-cli/package-lock.json
	npm ci --prefix tests/claude-cli --no-audit --no-fund --loglevel=error
	$(CLAUDE_CLI) --version
	touch $@

# The gateway the live tests start (apart from the test tools: LiteLLM pins many packages of its own).
$(LITELLM_VENV)/.installed: requirements-gateway.txt constraints-gateway.txt
	$(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-gateway.txt -c constraints-gateway.txt
	touch $@

$(PRISMA_ENGINE_DIR)/node_modules/.installed: $(PRISMA_ENGINE_DIR)/package.json $(PRISMA_ENGINE_DIR)/package-lock.json
	npm ci --prefix $(PRISMA_ENGINE_DIR) --no-audit --no-fund --loglevel=error
	touch $@

# `prisma generate` npm-installs the Prisma CLI into PRISMA_HOME_DIR and writes the client into the venv; the
# engine variables stop the CLI from downloading Prisma's binaries (impossible offline).
$(LITELLM_DB_VENV)/.installed: requirements-gateway.txt constraints-gateway.txt tests/support/requirements-database.txt \
		$(PRISMA_ENGINE_DIR)/node_modules/.installed
	$(PYTHON) -m venv $(LITELLM_DB_VENV)
	$(LITELLM_DB_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-gateway.txt \
	  -r tests/support/requirements-database.txt -c constraints-gateway.txt
	PATH="$(CURDIR)/$(LITELLM_DB_VENV)/bin:$$PATH" \
	PRISMA_QUERY_ENGINE_BINARY="$(CURDIR)/$(PRISMA_ENGINE_DIR)/query-engine" \
	PRISMA_SCHEMA_ENGINE_BINARY="$(CURDIR)/$(PRISMA_ENGINE_DIR)/schema-engine" \
	PRISMA_HOME_DIR="$(CURDIR)/.cache/prisma-home" \
	  $(LITELLM_DB_VENV)/bin/python -m prisma generate \
	    --schema "$$($(LITELLM_DB_VENV)/bin/python -c 'import importlib.util, os; print(os.path.join(importlib.util.find_spec("litellm").submodule_search_locations[0], "proxy", "schema.prisma"))')"
	touch $@

tools: $(VENV)/.test-tools-installed tests/claude-cli/node_modules/.installed $(LITELLM_VENV)/.installed \
	$(LITELLM_DB_VENV)/.installed

# Every pin lives in extensions/claude_gateway_template/versions.py: this writes the requirements files and
# tests/claude-cli/package.json from it, re-resolves the constraints (FRESH=1: from scratch) and re-locks npm.
pins: $(VENV)/.tools-installed
	PYTHONPATH=extensions $(BIN)/python -m claude_gateway_template.pin_files

demo: $(VENV)/.tools-installed
	rm -rf $(DEMO_DIR)
	$(BIN)/copier copy --trust --defaults $(CURDIR) $(DEMO_DIR)
	@echo
	@echo "== files in $(DEMO_DIR) =="
	@cd $(DEMO_DIR) && find . -type f | sort
	@echo
	@echo "== $(DEMO_DIR)/client/env.sh (without comments) =="
	@grep -v '^#' $(DEMO_DIR)/client/env.sh | sed '/^$$/d'

# The system packages the tests need (Debian names) are listed once, in tests/support/system-packages.sh: it
# installs the missing ones when it may (root or passwordless sudo), else stops naming them and the command.
system-packages:
	@tests/support/system-packages.sh

# Two workers (the machine has two cores); one test file per worker, so each module's gateway boots once.
PYTEST := $(BIN)/python -m pytest tests -n 2 --dist loadfile

test: system-packages tools
	$(PYTEST)

test-unit: $(VENV)/.test-tools-installed
	$(BIN)/python -m pytest tests -n 2 -m "not live and not render"

test-render: system-packages tools
	$(PYTEST) -m "render and not live"

test-live: system-packages tools
	$(PYTEST) -m live

lint: $(VENV)/.test-tools-installed
	$(BIN)/python tests/support/lint.py

goldens: $(VENV)/.test-tools-installed
	@test -z "$$(git status --porcelain)" || \
	  { echo "make goldens: refused, the tree is dirty (commit or stash first: a refresh is its own commit)" >&2; exit 1; }
	$(BIN)/python tests/golden_trees.py --refresh

docs: $(VENV)/.tools-installed
	PYTHONPATH=extensions $(BIN)/python -m claude_gateway_template.answers_doc

bench: tools
	$(BIN)/python bench/bench_generate.py

bench-gateway: tools
	$(BIN)/python bench/bench_gateway.py

# The side-by-side gateway benchmark (bench/bench_overhead.py) builds its own venvs: the frozen "before" pins
# (bench/before/, from commit 8c0b10a) and the gateway pins of this tree, so it runs from a clean machine and never
# changes the venvs the tests use.
BENCH_BEFORE_VENV := .cache/bench-before
BENCH_GENERATED_VENV := .cache/bench-generated

$(BENCH_BEFORE_VENV)/.installed: bench/before/requirements.txt bench/before/constraints.txt
	$(PYTHON) -m venv $(BENCH_BEFORE_VENV)
	$(BENCH_BEFORE_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/before/requirements.txt \
	  -c bench/before/constraints.txt
	touch $@

$(BENCH_GENERATED_VENV)/.installed: requirements-gateway.txt constraints-gateway.txt
	$(PYTHON) -m venv $(BENCH_GENERATED_VENV)
	$(BENCH_GENERATED_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-gateway.txt \
	  -c constraints-gateway.txt
	touch $@

bench-overhead: $(VENV)/.tools-installed $(BENCH_BEFORE_VENV)/.installed $(BENCH_GENERATED_VENV)/.installed
	$(BIN)/python bench/bench_overhead.py

bench-database: tools
	$(BIN)/python bench/bench_database.py

bench-ha: tools
	$(BIN)/python bench/bench_ha.py

bench-apps-gateway: tools
	$(BIN)/python bench/bench_apps_gateway.py

clean:
	rm -rf $(VENV) $(LITELLM_VENV) $(LITELLM_DB_VENV) $(BENCH_BEFORE_VENV) $(BENCH_GENERATED_VENV) .cache/prisma-home build tests/claude-cli/node_modules \
	  $(PRISMA_ENGINE_DIR)/node_modules
