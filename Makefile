# kyma-connectors — one entry point for people and CI.
#   make test   the fast test suite (unit tests with Pulumi mocks, both services against loopback servers)
#   make lint   ruff + mypy
#   make e2e    the real Pulumi engine against a local kube-apiserver (builds the offline toolchain first)
#   make demo   the main job on an embedded default: local control plane, local state, no cloud account
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_REQS := requirements.txt requirements-dev.txt $(wildcard event_gateway/requirements.txt registrar/requirements.txt policy/requirements.txt)
CODE_DIRS := $(wildcard catalog registration components config tuning event_gateway registrar webhooks connectorctl doubles policy bench scripts tests __main__.py)

.PHONY: venv test lint check
venv: $(VENV)/.installed
$(VENV)/.installed: $(PIP_REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

test: venv
	$(VENV)/bin/pytest -q -m "not e2e"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy $(CODE_DIRS)

check: lint test

# === issue 2: Pulumi program, policy pack, benchmarks ===
.PHONY: test-program bench-program
test-program: venv  ## the program's fast tests: config, components, __main__ (Pulumi mocks)
	$(VENV)/bin/pytest -q tests/config tests/components tests/test_main.py

bench-program: venv  ## program evaluation under mocks for 1, 10 and 50 connectors (figures in the README)
	$(PY) bench/bench_program.py

# --- issue 2b: policy pack ---
.PHONY: policy-preview
STACK ?= local
policy-preview: controlplane-up  ## preview STACK (default local) with the mandatory policy pack, through the real engine
	source scripts/env.sh && KUBECONFIG=$${KUBECONFIG:-$${KC_RUN_DIR:-/tmp/kyma-connectors/cp}/kubeconfig} \
	  PULUMI_CONFIG_PASSPHRASE=$${PULUMI_CONFIG_PASSPHRASE:-kyma-connectors-local} \
	  $(PY) -m scripts.stack preview -s $(STACK) --policy-pack policy

# === issue 3: event gateway ===
PUBLISHER_DOUBLE_PORT ?= 8081
.PHONY: test-gateway bench-gateway publisher-double gateway-image
test-gateway: venv  ## the event gateway and the publisher double (real processes on loopback)
	$(VENV)/bin/pytest -q tests/event_gateway tests/doubles/test_publisher.py
bench-gateway: venv  ## throughput, p50/p99, CPU and RSS for 2 KB signed GitHub deliveries (figures in the README)
	$(PY) bench/bench_gateway.py
publisher-double: venv  ## the loopback eventing publisher proxy double (GET /events lists what it received)
	$(PY) -m doubles.publisher --port $(PUBLISHER_DOUBLE_PORT)
gateway-image:  ## the event gateway image (needs a container engine; build context is the repo root)
	docker build -f event_gateway/Dockerfile -t kyma-connectors-event-gateway .

# === issue 4: webhook provider, connectorctl ===
GITHUB_DOUBLE_PORT ?= 8181
GITHUB_DOUBLE_TOKEN ?= ghp_dev_double
.PHONY: test-webhooks github-double qualtrics-double
test-webhooks: venv  ## the webhook provider, its doubles and connectorctl only
	$(VENV)/bin/pytest -q tests/webhooks tests/components/test_webhook_registration.py tests/connectorctl \
		tests/doubles/test_github.py tests/doubles/test_qualtrics.py
github-double: venv  ## the loopback GitHub double (prints its URL; admin API under /_admin)
	$(PY) -m doubles.github --port $(GITHUB_DOUBLE_PORT) --token $(GITHUB_DOUBLE_TOKEN)
qualtrics-double: venv  ## the loopback Qualtrics double (prints its /API/v3 base URL)
	$(PY) -m doubles.qualtrics --port $$(( $(GITHUB_DOUBLE_PORT) + 1 )) --token $(GITHUB_DOUBLE_TOKEN)

# === issue 5: registrar ===
.PHONY: test-registrar bench-registrar registrar-image
test-registrar: venv  ## the registrar: legacy backend vs. the registry double, application-cr vs. the local kube-apiserver
	$(VENV)/bin/pytest -q tests/registrar tests/doubles/test_registry.py
bench-registrar: venv toolchain  ## 100 services, first run vs. rerun, both backends (figures: docs/registrar.md)
	source scripts/env.sh && $(PY) bench/bench_registrar.py
registrar-image:  ## the registration job image (needs a container engine; build context is the repo root)
	docker build -f registrar/Dockerfile -t kyma-connectors-registrar .

# === issue 6: toolchain, control plane, e2e, demo ===
# Real engine end to end (docs/toolchain.md). The toolchain builds once into ~/.cache/kyma-connectors (KC_CACHE).
.PHONY: toolchain controlplane-up controlplane-down e2e demo demo-down bench-engine
toolchain:
	scripts/toolchain.sh

controlplane-up: venv toolchain
	scripts/controlplane.sh up

controlplane-down: venv
	scripts/controlplane.sh down

# Tests marked e2e (tests/e2e) or controlplane (any suite); a missing toolchain fails instead of skipping.
e2e: venv toolchain
	source scripts/env.sh && KC_REQUIRE_CONTROLPLANE=1 $(VENV)/bin/pytest -q -m "e2e or controlplane"

demo: venv toolchain
	scripts/demo.sh up

demo-down: venv
	scripts/demo.sh down

bench-engine: venv toolchain
	source scripts/env.sh && $(PY) bench/bench_engine.py
