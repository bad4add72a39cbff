# shellcheck shell=bash
# Pinned versions of the offline toolchain and where its cache lives. Sourced by toolchain.sh and env.sh.
#
# The cache sits OUTSIDE the clone (CI clones afresh every run) and is keyed by the pinned versions plus the go.mod
# and go.sum files of the tools modules, so a pin change builds into a new directory and never mixes binaries.
# Two keys: the engine (Pulumi, its Kubernetes provider, kube-apiserver) and the node (kubelet and friends,
# containerd, CoreDNS), so a node pin change never rebuilds the engine, and the other way round.

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

# The node: kubelet, kube-controller-manager, kube-scheduler and kube-proxy from the same k8s.io/kubernetes pin as
# kube-apiserver (devtools/go/kube-node); containerd 2.x with its runc shim and ctr (devtools/go/containerd: Kubernetes
# 1.36 needs containerd 2.x); CoreDNS with the plugins the local Corefile uses (devtools/go/coredns). runc, the CNI
# plugins and iptables are Debian's packages. Why these versions: docs/toolchain.md.
KC_CONTAINERD_VERSION="v2.3.7"
KC_COREDNS_VERSION="v1.15.0"

KC_ENGINE_MODULES=(kube-apiserver pulumi-kubernetes pulumi)
KC_NODE_MODULES=(kube-node containerd coredns)

_kc_modules_sum() {  # every go.mod, then every go.sum, of the named tools modules (the order is part of the key)
  local files=() m
  for m in "$@"; do files+=("$KC_REPO/devtools/go/$m/go.mod"); done
  for m in "$@"; do files+=("$KC_REPO/devtools/go/$m/go.sum"); done
  cat "${files[@]}" 2>/dev/null | sha256sum | cut -c1-10
}

kc_toolchain_key() {
  echo "pulumi-${KC_PULUMI_VERSION}_k8s-${KC_K8S_PROVIDER_VERSION}_kube-${KC_KUBE_VERSION}_$(_kc_modules_sum "${KC_ENGINE_MODULES[@]}")"
}

kc_toolchain_bin() {
  echo "$KC_CACHE/toolchain/$(kc_toolchain_key)/bin"
}

kc_node_key() {
  local main
  main=$(cat "$KC_REPO"/devtools/go/coredns/*.go 2>/dev/null | sha256sum | cut -c1-6)
  echo "node-kube-${KC_KUBE_VERSION}_containerd-${KC_CONTAINERD_VERSION}_coredns-${KC_COREDNS_VERSION}_$(_kc_modules_sum "${KC_NODE_MODULES[@]}")${main}"
}

kc_node_bin() {
  echo "$KC_CACHE/toolchain/$(kc_node_key)/bin"
}
