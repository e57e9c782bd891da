# Envol — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create .venv and install Envol with its development tools

.PHONY: demo
demo: $(STAMP) ## Run a whole launch on the local Mattermost sandbox (no server needed)
	$(BIN)/envol demo --serve

.PHONY: test
test: $(STAMP) ## Run the tests (SQLite and PostgreSQL; Redis for the worker test)
	$(BIN)/python -m pytest

.PHONY: lint
lint: $(STAMP) ## ruff (lint + format check), mypy and the import contracts (lint-imports)
	$(BIN)/ruff check plugin webhooks tests bench migrations
	$(BIN)/ruff format --check plugin webhooks tests bench migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: bench
bench: $(STAMP) ## Run every benchmark and write bench/results.json
	$(BIN)/python -m bench

.PHONY: bundle
bundle: $(STAMP) ## Build the plugin bundle to upload in the System Console
	$(BIN)/envol plugin bundle

.PHONY: clean
clean: ## Remove the virtualenv, build outputs and demo files
	rm -rf $(VENV) dist .demo .pytest_cache .mypy_cache .ruff_cache

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-8s\033[0m %s\n", $$1, $$2}'
