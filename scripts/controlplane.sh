#!/usr/bin/env bash
# Start, stop or inspect the local control plane (etcd + kube-apiserver on loopback, Kyma CRDs, kyma-system).
#
#   scripts/controlplane.sh up|down|status|kubeconfig
#
# Env: KC_RUN_DIR (default /tmp/kyma-connectors/cp), KC_APISERVER_PORT (16443), KC_ETCD_PORT (23790),
# KC_ETCD_PEER_PORT (23800, etcd port + 10), KC_SHARED (default <repo>/../shared; the CRDs come from $KC_SHARED/kyma/crds).
# The binaries come from scripts/toolchain.sh (run it first); the logic lives in scripts/controlplane.py.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KC_REPO"
PY="${KC_PYTHON:-$KC_REPO/.venv/bin/python}"
[[ -x "$PY" ]] || PY=python3
exec "$PY" -m scripts.controlplane "$@"
