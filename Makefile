# Two entry points (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PIP    := $(VENV)/bin/pip

.PHONY: run test venv dynamic-runtime system-deps system-deps-test clean audit fault-test load-test bench-portal fuzz

run: system-deps venv dynamic-runtime
	infra/run-embedded.sh

test: system-deps-test venv dynamic-runtime
	infra/run-tests.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "is ignored: it is neither" || true
	$(VENV)/bin/python -c "import django, celery, weasyprint, allauth, rest_framework" 
	touch $@

# The dynamic stage's offline runtime (var/dynamic-runtime) from the committed lock files; rebuilt only when they change.
dynamic-runtime: venv
	PYTHON=$(VENV)/bin/python infra/build-dynamic-runtime.sh

system-deps:
	infra/system-deps.sh

system-deps-test:
	infra/system-deps.sh --test

# Not part of `make test` (see docs/operations.md): slower, or needing the network.
audit: venv
	$(PIP) install -q --disable-pip-version-check -e ".[test,audit]" 2>&1 | grep -v "is ignored: it is neither" || true
	infra/audit.sh

fault-test: system-deps-test venv
	infra/run-fault-tests.sh -q

load-test: system-deps-test venv
	infra/run-load-tests.sh -q

# Coverage-guided fuzzing (atheris): each target for FUZZ_SECONDS (default 60); the corpus grows in var/fuzz/.
FUZZ_SECONDS ?= 60
fuzz: venv
	$(VENV)/bin/python tests/fuzz/run.py --seconds $(FUZZ_SECONDS)

bench-portal: venv
	$(VENV)/bin/python tests/bench/bench_portal.py

clean:
	rm -rf $(VENV) var
