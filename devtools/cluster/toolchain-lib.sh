# shellcheck shell=bash
# Pinned versions of the offline toolchain and where its cache lives. Sourced by toolchain.sh and env.sh.
#
# The cache sits OUTSIDE the clone (CI clones afresh every run) and is keyed by the pinned versions plus the
# devtools/go/*/go.mod and go.sum files, so a pin change builds into a new directory and never mixes binaries.

KC_REPO="${KC_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
KC_CACHE="${KC_CACHE:-$HOME/.cache/kyma-connectors}"

# Pulumi CLI: the Go proxy serves pkg/v3 at v3.274.0/v3.274.1 but not v3.272.0 (the pulumi==3.272.0 PyPI SDK is the
# newest there); the nearest newer CLI is used, which is the supported direction (CLI >= SDK).
KC_PULUMI_VERSION="v3.274.1"
# pulumi-kubernetes provider: the only version on the proxy, commit f47bc2d6f199 == tag v4.25.0.
KC_K8S_PROVIDER_VERSION="4.25.0"
KC_K8S_PROVIDER_MODULE_VERSION="v4.0.0-20260115033456-f47bc2d6f199"
# kube-apiserver, stamped so pulumi-kubernetes sees a real version (an unstamped build reports 0.0).
KC_KUBE_VERSION="v1.36.3"

kc_toolchain_key() {
  local sum
  sum=$(cat "$KC_REPO"/devtools/go/*/go.mod "$KC_REPO"/devtools/go/*/go.sum 2>/dev/null | sha256sum | cut -c1-10)
  echo "pulumi-${KC_PULUMI_VERSION}_k8s-${KC_K8S_PROVIDER_VERSION}_kube-${KC_KUBE_VERSION}_${sum}"
}

kc_toolchain_bin() {
  echo "$KC_CACHE/toolchain/$(kc_toolchain_key)/bin"
}
