# The template's two commands: `make demo` (the main job) and `make test` (its tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUILD := build
ACTIONLINT_VERSION := v1.7.12
# gitlab-ci-local runs the rendered .gitlab-ci.yml in the Spark tier; it needs Node 22 (the npm
# package `node` ships it) and rsync. Installed under build/, never globally.
GITLAB_CI_LOCAL_VERSION := 4.75.1
NODE_MAJOR := 22
GITLAB_CI_LOCAL := $(BUILD)/gitlab-ci-local

.PHONY: demo test test-fast test-spark venv gitlab-ci-local docs clean

$(BIN)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@# actionlint (GitHub workflow linter) is a Go program: built into the venv when Go is present.
	@if command -v go >/dev/null 2>&1; then \
		GOBIN=$(abspath $(BIN)) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION); \
	else echo "go not found: actionlint is not installed and its test will be skipped"; fi
	touch $@

venv: $(BIN)/.installed

$(GITLAB_CI_LOCAL)/.installed:
	mkdir -p $(GITLAB_CI_LOCAL)
	npm install --prefix $(GITLAB_CI_LOCAL) --no-audit --no-fund \
		node@$(NODE_MAJOR) gitlab-ci-local@$(GITLAB_CI_LOCAL_VERSION)
	touch $@

gitlab-ci-local: $(GITLAB_CI_LOCAL)/.installed  ## Node 22 and gitlab-ci-local under build/

# The fast tier is pure Python: one pytest worker per CPU this process may use (pytest-xdist
# `-n auto`). The Spark tier runs two workers: one Spark process alone leaves part of two
# cores idle while it waits on the JVM. Its tests are few and of very unequal length, so
# `--dist loadgroup` with the split given in tests/spark_workers.py: one group per worker.
FAST_TIER := $(BIN)/pytest -rs -n auto tests -m "not spark"
# `--durations=0`: the tier ends with each test's setup and call seconds, the figures the
# speed budgets are tracked by.
SPARK_TIER := $(BIN)/pytest -rs -n 2 --dist loadgroup --durations=0 tests -m spark

test: venv gitlab-ci-local  ## both tiers: fast (no JVM), then Spark
	$(FAST_TIER)
	$(SPARK_TIER)

test-fast: venv
	$(FAST_TIER)

test-spark: venv gitlab-ci-local
	$(SPARK_TIER)

docs: venv  ## rewrite the README options table from cookiecutter.json (needs cookiecutter)
	$(BIN)/python scripts/options_doc.py

$(BUILD)/tools/bin/cookiecutter:
	$(PYTHON) -m venv $(BUILD)/tools
	$(BUILD)/tools/bin/pip install --quiet cookiecutter==2.7.1

demo: $(BUILD)/tools/bin/cookiecutter  ## render the default project into build/demo, install it, run its whole pipeline
	rm -rf $(BUILD)/demo $(BUILD)/.render
	$(BUILD)/tools/bin/cookiecutter --no-input --output-dir $(BUILD)/.render .
	mv $(BUILD)/.render/* $(BUILD)/demo && rm -rf $(BUILD)/.render
	$(MAKE) -C $(BUILD)/demo install VENV=$(CURDIR)/$(BUILD)/demo-venv PYTHON=$(PYTHON)
	$(MAKE) -C $(BUILD)/demo pipeline VENV=$(CURDIR)/$(BUILD)/demo-venv

clean:
	rm -rf $(BUILD) $(VENV)
