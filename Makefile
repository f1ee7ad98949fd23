# The two commands of the README:
#   make demo   install the pinned tools, generate a project from defaults, show what it produced
#   make test   install the pinned test tools (Python packages, the Claude Code CLI) and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= build/demo-project
CLAUDE_CLI := tests/claude-cli/node_modules/.bin/claude

.PHONY: demo test tools bench clean

$(VENV)/.tools-installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.test-tools-installed: $(VENV)/.tools-installed requirements-test.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt -c constraints.txt
	touch $@

$(CLAUDE_CLI): tests/claude-cli/package.json tests/claude-cli/package-lock.json
	npm ci --prefix tests/claude-cli --no-audit --no-fund --loglevel=error
	test -x $@ && $@ --version

tools: $(VENV)/.test-tools-installed $(CLAUDE_CLI)

demo: $(VENV)/.tools-installed
	rm -rf $(DEMO_DIR)
	$(BIN)/copier copy --trust --defaults $(CURDIR) $(DEMO_DIR)
	@echo
	@echo "== files in $(DEMO_DIR) =="
	@cd $(DEMO_DIR) && find . -type f | sort
	@echo
	@echo "== $(DEMO_DIR)/client/env.sh (without comments) =="
	@grep -v '^#' $(DEMO_DIR)/client/env.sh | sed '/^$$/d'

test: tools
	$(BIN)/python -m pytest tests

bench: tools
	$(BIN)/python bench/bench_generate.py

clean:
	rm -rf $(VENV) build tests/claude-cli/node_modules
