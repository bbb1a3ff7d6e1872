# Two entry points (see README): `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PIP    := $(VENV)/bin/pip

.PHONY: run test venv venv-run dynamic-runtime system-deps system-deps-test clean audit fault-test load-test bench-portal fuzz

# The portal needs only the runtime packages; the test toolchain is installed by `make test` alone.
run: system-deps venv-run dynamic-runtime
	@$(VENV)/bin/python infra/run_embedded.py

test: system-deps-test venv dynamic-runtime
	infra/run-tests.sh

venv: $(VENV)/.installed
venv-run: $(VENV)/.installed-run

$(VENV)/.installed: pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@infra/pip-install.sh "the runtime and test packages" -e ".[test]"
	@$(VENV)/bin/python -c "import django, celery, weasyprint, allauth, rest_framework, pytest, playwright"
	@touch $@ $(VENV)/.installed-run

$(VENV)/.installed-run: pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@infra/pip-install.sh "the runtime packages" -e .
	@$(VENV)/bin/python -c "import django, celery, weasyprint, allauth, rest_framework"
	@touch $@

# The dynamic stage's offline runtime (var/dynamic-runtime) from the committed lock files; rebuilt only when they change.
dynamic-runtime: venv-run
	@PYTHON=$(VENV)/bin/python infra/build-dynamic-runtime.sh

system-deps:
	@infra/system-deps.sh

system-deps-test:
	@infra/system-deps.sh --test

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
