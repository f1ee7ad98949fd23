# The two commands of the README:
#   make demo   install the pinned tools, generate a project from defaults, show what it produced
#   make test   install the pinned test tools (Python packages, the Claude Code CLI, LiteLLM) and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= build/demo-project
CLAUDE_CLI := tests/claude-cli/node_modules/.bin/claude
LITELLM_VENV := .cache/litellm-venv

.PHONY: demo test tools bench bench-gateway clean

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

tools: $(VENV)/.test-tools-installed tests/claude-cli/node_modules/.installed $(LITELLM_VENV)/.installed

demo: $(VENV)/.tools-installed
	rm -rf $(DEMO_DIR)
	$(BIN)/copier copy --trust --defaults $(CURDIR) $(DEMO_DIR)
	@echo
	@echo "== files in $(DEMO_DIR) =="
	@cd $(DEMO_DIR) && find . -type f | sort
	@echo
	@echo "== $(DEMO_DIR)/client/env.sh (without comments) =="
	@grep -v '^#' $(DEMO_DIR)/client/env.sh | sed '/^$$/d'

# Two workers (the machine has two cores); one test file per worker, so each module's gateway boots once.
test: tools
	$(BIN)/python -m pytest tests -n 2 --dist loadfile

bench: tools
	$(BIN)/python bench/bench_generate.py

bench-gateway: tools
	$(BIN)/python bench/bench_gateway.py

clean:
	rm -rf $(VENV) $(LITELLM_VENV) build tests/claude-cli/node_modules
