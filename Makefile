# kyma-connectors: one entry point for people and CI. `make help` lists the targets by audience.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The local cluster's environment: toolchain on PATH, local file state backend, no plugin downloads.
CLUSTER_ENV := source devtools/cluster/env.sh &&
STACK ?= local
PUBLISHER_DOUBLE_PORT ?= 8081
GITHUB_DOUBLE_PORT ?= 8181
GITHUB_DOUBLE_TOKEN ?= ghp_dev_double
SPECGEN_MODULES := devtools/specgen/node_modules/.installed

.DEFAULT_GOAL := help
.PHONY: help
help:  ## this list
	@awk 'BEGIN {FS = ":.*## "} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-z-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Develop
.PHONY: venv lint test test-quick check specs specs-check validate-asyncapi
venv: $(VENV)/.installed $(SPECGEN_MODULES)  ## the development virtualenv (.venv): the distribution, editable, with every extra
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

lint: venv lint-workflows  ## ruff, mypy --strict, the layer contracts (import-linter) and the workflows (actionlint)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

# actionlint, built once by the Go toolchain into the cache outside the clone, keyed by its pinned version.
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := $(or $(KC_CACHE),$(HOME)/.cache/kyma-connectors)/tools/actionlint-$(ACTIONLINT_VERSION)/actionlint
$(ACTIONLINT):
	GOBIN=$(@D) GOMODCACHE=$(or $(KC_CACHE),$(HOME)/.cache/kyma-connectors)/go/mod GOFLAGS=-buildvcs=false \
	  go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

.PHONY: lint-workflows
lint-workflows: $(ACTIONLINT)  ## actionlint on .github/workflows (the release workflow runs only on GitHub)
	$(ACTIONLINT) -no-color .github/workflows/*.yml

test: venv  ## the fast test suite: Pulumi mocks, both services and the doubles as real loopback processes
	$(VENV)/bin/pytest -q -m "not e2e"

test-quick: venv  ## the fast suite without the tests marked slow (a quick loop while developing)
	$(VENV)/bin/pytest -q -m "not e2e and not slow"

check: lint test  ## lint and test

# specs/github/asyncapi.yaml is generated from GitHub's webhook payload schemas (../shared/github/schemas, or
# $KC_SHARED/github/schemas); tests/devtools/specgen fails while the committed file and a fresh render differ.
# The official AsyncAPI JSON Schemas come from the npm package pinned in devtools/specgen/package-lock.json.
$(SPECGEN_MODULES): devtools/specgen/package.json devtools/specgen/package-lock.json
	npm ci --prefix devtools/specgen --no-audit --no-fund --loglevel=error
	touch $@

specs: venv  ## re-render specs/github/asyncapi.yaml from GitHub's webhook schemas (after GitHub adds events)
	$(PY) -m devtools.specgen

specs-check: venv  ## fail when specs/github/asyncapi.yaml differs from a fresh render
	$(PY) -m devtools.specgen --check

validate-asyncapi: venv  ## AsyncAPI 2.6 schema + catalog rules for FILES (default: every shipped catalog)
	$(PY) -m devtools.specgen validate $(or $(FILES),$(wildcard specs/*/asyncapi.yaml))

.PHONY: test-reconciler
test-reconciler: venv  ## the hook reconciler and Subscriptions as code (the evidence runs against the local API server)
	$(CLUSTER_ENV) $(VENV)/bin/pytest -q tests/kyma_connectors/reconciler tests/kyma_connectors/core/test_eventing.py \
		tests/kyma_connectors/core/test_event_names.py tests/kyma_connectors/program/test_subscriptions.py \
		tests/components/test_kyma_subscription.py tests/components/test_hook_reconciler.py \
		tests/kyma_connectors/hooks/test_managed_events.py tests/components/test_webhook_registration_managed_engine.py

##@ Run locally
.PHONY: demo demo-down cluster-up cluster-down images publisher-double github-double qualtrics-double policy-preview
demo: venv toolchain  ## the main job on an embedded default: local cluster, local state, no cloud account
	$(CLUSTER_ENV) $(PY) -m devtools.cluster.demo up

demo-down: venv  ## tear the demo down
	$(CLUSTER_ENV) $(PY) -m devtools.cluster.demo down

cluster-up: venv toolchain  ## the local cluster with its node (KC_NODE=0: the API server alone); prints its KUBECONFIG
	$(CLUSTER_ENV) KC_NODE=$${KC_NODE:-1} $(PY) -m devtools.cluster.controlplane up

cluster-images: venv toolchain  ## the local cluster's images, built by buildah from the project's Dockerfiles (cached)
	$(CLUSTER_ENV) $(PY) -m devtools.cluster.images build

cluster-down: venv  ## stop the local cluster
	$(CLUSTER_ENV) KC_NODE=$${KC_NODE:-1} $(PY) -m devtools.cluster.controlplane down

policy-preview: cluster-up  ## preview STACK (default local) through the real engine with the mandatory policy pack
	$(CLUSTER_ENV) KUBECONFIG=$${KUBECONFIG:-$${KC_RUN_DIR:-/tmp/kyma-connectors/cp}/kubeconfig} \
	  PULUMI_CONFIG_PASSPHRASE=$${PULUMI_CONFIG_PASSPHRASE:-kyma-connectors-local} \
	  $(PY) -m devtools.cluster.stack preview -s $(STACK) --policy-pack kyma_connectors/policy

publisher-double: venv  ## the loopback eventing publisher double (GET /events lists what it received)
	$(PY) -m devtools.doubles.publisher --port $(PUBLISHER_DOUBLE_PORT)

github-double: venv  ## the loopback GitHub double (prints its URL; admin API under /_admin)
	$(PY) -m devtools.doubles.github --port $(GITHUB_DOUBLE_PORT) --token $(GITHUB_DOUBLE_TOKEN)

qualtrics-double: venv  ## the loopback Qualtrics double (prints its /API/v3 base URL)
	$(PY) -m devtools.doubles.qualtrics --port $$(( $(GITHUB_DOUBLE_PORT) + 1 )) --token $(GITHUB_DOUBLE_TOKEN)

##@ Images
.PHONY: images gateway-image registrar-image reconciler-image
images: gateway-image registrar-image reconciler-image  ## every image (needs a container engine; the build context is the repository root)

gateway-image:  ## the event gateway image
	docker build -f images/gateway/Dockerfile -t kyma-connectors-event-gateway .

registrar-image:  ## the registration Job's image
	docker build -f images/registrar/Dockerfile -t kyma-connectors-registrar .

reconciler-image:  ## the hook reconciler's image (events: subscribed)
	docker build -f images/reconciler/Dockerfile -t kyma-connectors-reconciler .

##@ Benchmarks (figures: bench/README.md)
.PHONY: bench-gateway bench-oversize bench-registrar bench-engine bench-subscriptions
bench-gateway: venv  ## the event gateway: throughput, p50/p99, CPU per delivery, RSS
	$(PY) bench/bench_gateway.py

bench-oversize: venv  ## the event gateway: trimming oversized deliveries to the publisher's limit (5 and 25 MB pushes)
	$(PY) bench/bench_oversize.py

bench-registrar: venv toolchain  ## the registrar: 100 services, first run vs. rerun, both backends
	$(CLUSTER_ENV) $(PY) bench/bench_registrar.py

bench-subscriptions: venv  ## deliveries of a synthetic GitHub day, events: all vs events: subscribed (docs/subscriptions.md)
	$(PY) bench/bench_subscribed_deliveries.py

bench-engine: venv toolchain  ## pulumi preview/up/destroy wall times for 1 and 10 connectors on the local cluster
	$(CLUSTER_ENV) $(PY) bench/bench_engine.py

##@ End to end
.PHONY: toolchain e2e
toolchain:  ## the offline toolchain, built once into ~/.cache/kyma-connectors (keyed by the pins)
	devtools/cluster/toolchain.sh

e2e: venv toolchain  ## the real Pulumi engine against the local cluster and the doubles (a missing piece fails)
	$(CLUSTER_ENV) KC_REQUIRE_CONTROLPLANE=1 $(VENV)/bin/pytest -q -m "(e2e or controlplane) and not demo"
	$(CLUSTER_ENV) KC_REQUIRE_CONTROLPLANE=1 $(VENV)/bin/pytest -q -m demo
