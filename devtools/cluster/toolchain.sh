#!/usr/bin/env bash
# The offline toolchain for the real Pulumi engine and the local control plane, built from pinned Go modules.
#
#   devtools/cluster/toolchain.sh            build what is missing into $KC_CACHE/toolchain/<key>/bin (idempotent)
#   devtools/cluster/toolchain.sh --bin-dir  print that bin directory and exit (used by env.sh and the test fixtures)
#
# Provides: pulumi (CLI, version-stamped), pulumi-language-python-exec and pulumi-resource-pulumi-python (the
# Python runner and dynamic-provider shim that ship with the CLI), pulumi-resource-kubernetes 4.25.0 (matches
# pulumi-kubernetes==4.25.0), kube-apiserver (stamped v1.36.3) and etcd (Debian package etcd-server).
# Where a `pulumi` CLI, its kubernetes plugin, kube-apiserver or etcd are already installed (a developer laptop),
# they are used instead of building. Not provided, and why (details in docs/toolchain.md):
#   - pulumi-language-python: the Go module proxy does not serve its module (403), so stacks run as Automation API
#     inline programs through the real CLI and engine (devtools/cluster/stack.py), which need no language host binary;
#   - pulumi-resource-random: the proxy serves no github.com/pulumi/pulumi-random module (403); the local stacks
#     therefore set every webhook secret in config, so the program registers no random resources.
# Caches: GOMODCACHE and GOCACHE under $KC_CACHE/go, never inside the clone. Go resolves nothing at build time
# (-mod=readonly against the committed devtools/go/*/go.sum).
set -euo pipefail
# shellcheck source=devtools/cluster/toolchain-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/toolchain-lib.sh"

BIN="$(kc_toolchain_bin)"
if [[ "${1:-}" == "--bin-dir" ]]; then echo "$BIN"; exit 0; fi

export GOMODCACHE="${KC_GOMODCACHE:-$KC_CACHE/go/mod}" GOCACHE="${KC_GOCACHE:-$KC_CACHE/go/build}"
export GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0
LOGS="$KC_CACHE/logs"
mkdir -p "$BIN" "$LOGS"

T0=$(date +%s)
now() { date +%s.%N; }
step_start() { STEP="$1"; STEP_T=$(now); printf '[toolchain] %-28s ' "$STEP"; }
step_end() { printf '%-60s %6.1fs\n' "$1" "$(awk -v a="$(now)" -v b="$STEP_T" 'BEGIN{print a-b}')"; }
fail() { printf '\n[toolchain] %s failed: %s\n' "$STEP" "$1" >&2; exit 1; }

# A binary found on PATH that is not ours (an installed CLI, a distro package) is preferred over building one.
installed() {
  local found
  found=$(PATH="$(echo ":$PATH:" | sed "s#:$BIN:#:#g; s#^:##; s#:\$##")" command -v "$1" 2>/dev/null || true)
  [[ -n "$found" ]] && echo "$found"
}

need_go() {
  command -v go >/dev/null || fail "Go is needed to build $1 (none on PATH)"
}

# go build inside a tools module; output goes to a temporary dir, then moves into the target bin dir (no half-written
# binaries). TARGET_BIN defaults to the engine's BIN.
go_build() {
  local module_dir="$1" log="$2"; shift 2
  local target="${TARGET_BIN:-$BIN}"
  local out="$target/.build-$$"
  rm -rf "$out"; mkdir -p "$out"
  if ! (cd "$module_dir" && go build -trimpath -o "$out/" "$@") >"$LOGS/$log" 2>&1; then
    tail -20 "$LOGS/$log" >&2
    rm -rf "$out"
    fail "go build (full log: $LOGS/$log)"
  fi
  mv "$out"/* "$target/"; rmdir "$out"
}

module_dir() {  # directory of a module in the module cache, as resolved by a tools module (downloaded if needed)
  local dir
  dir=$(cd "$1" && go mod download "$2" && go list -m -f '{{.Dir}}' "$2") || return 1
  [[ -n "$dir" && -d "$dir" ]] || return 1
  echo "$dir"
}

# The keys of hack/lib/version.sh; without them /version reports v0.0.0 and pulumi-kubernetes refuses the cluster.
kube_ldflags() {
  local v="${KC_KUBE_VERSION}" minor ld="-s -w" pkg
  minor=$(echo "$v" | cut -d. -f2)
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    ld="$ld -X $pkg.gitCommit=0000000000000000000000000000000000000000 -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$ld"
}

echo "[toolchain] key $(kc_toolchain_key)"
echo "[toolchain] bin $BIN"

# --- Pulumi CLI + the Python files that ship with it -----------------------------------------------------------
step_start "pulumi CLI ${KC_PULUMI_VERSION}"
if [[ -x "$BIN/pulumi" ]]; then
  step_end "cached"
elif [[ -z "${KC_BUILD_PULUMI:-}" ]] && p=$(installed pulumi); then
  step_end "using installed $p ($("$p" version 2>/dev/null))"
  PULUMI_INSTALLED=1
else
  need_go "the Pulumi CLI"
  go_build "$KC_REPO/devtools/go/pulumi" pulumi-cli.log -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${KC_PULUMI_VERSION}" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  step_end "built ($("$BIN/pulumi" version))"
fi

if [[ -z "${PULUMI_INSTALLED:-}" ]]; then
  step_start "python exec + dynamic shim"
  if [[ -x "$BIN/pulumi-language-python-exec" && -x "$BIN/pulumi-resource-pulumi-python" ]]; then
    step_end "cached"
  else
    sdk=$(module_dir "$KC_REPO/devtools/go/pulumi" github.com/pulumi/pulumi/sdk/v3) || fail "sdk module not in cache"
    install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
    install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$BIN/pulumi-resource-pulumi-python"
    step_end "copied from the sdk/v3 module"
  fi
  step_start "pulumi-language-python"
  step_end "not on the Go module proxy: stacks run as Automation API inline programs"
fi

# --- pulumi-resource-kubernetes ------------------------------------------------------------------------------------
step_start "kubernetes provider ${KC_K8S_PROVIDER_VERSION}"
if [[ -x "$BIN/pulumi-resource-kubernetes" ]]; then
  step_end "cached"
elif p=$(installed pulumi-resource-kubernetes); then
  step_end "using installed $p"
elif [[ -n "${PULUMI_INSTALLED:-}" ]] && ls -d "${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-kubernetes-v${KC_K8S_PROVIDER_VERSION}" >/dev/null 2>&1; then
  step_end "using the installed plugin in ${PULUMI_HOME:-$HOME/.pulumi}/plugins"
else
  need_go "pulumi-resource-kubernetes"
  # The provider's main package embeds schema-embed.json and terraform-mapping-embed.json, which upstream
  # generates at release time and does not commit: build a copy of the package with them generated.
  src="$KC_CACHE/src/pulumi-kubernetes-${KC_K8S_PROVIDER_MODULE_VERSION}"
  rm -rf "$src"; mkdir -p "$src/cmd"
  cp "$KC_REPO/devtools/go/pulumi-kubernetes/go.mod" "$KC_REPO/devtools/go/pulumi-kubernetes/go.sum" "$src/"
  prov=$(module_dir "$KC_REPO/devtools/go/pulumi-kubernetes" github.com/pulumi/pulumi-kubernetes/provider/v4) \
    || fail "provider module not in cache"
  cp -r "$prov/cmd/pulumi-resource-kubernetes" "$src/cmd/"
  chmod -R u+w "$src"
  (cd "$src/cmd/pulumi-resource-kubernetes" && VERSION="${KC_K8S_PROVIDER_VERSION}" go run generate.go) \
    >"$LOGS/pulumi-kubernetes-generate.log" 2>&1 || fail "schema generation (log: $LOGS/pulumi-kubernetes-generate.log)"
  go_build "$src" pulumi-kubernetes.log \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${KC_K8S_PROVIDER_VERSION}" \
    ./cmd/pulumi-resource-kubernetes
  step_end "built"
fi

# --- pulumi-resource-random ----------------------------------------------------------------------------------------
step_start "random provider"
if p=$(installed pulumi-resource-random) || [[ -x "$BIN/pulumi-resource-random" ]]; then
  step_end "using installed ${p:-$BIN/pulumi-resource-random}"
else
  step_end "unavailable (module not on the Go proxy); local stacks set webhook secrets in config"
fi

# --- kube-apiserver ------------------------------------------------------------------------------------------------
step_start "kube-apiserver ${KC_KUBE_VERSION}"
if [[ -x "$BIN/kube-apiserver" ]]; then
  step_end "cached"
elif [[ -z "${KC_BUILD_KUBE:-}" ]] && p=$(installed kube-apiserver); then
  step_end "using installed $p"
else
  need_go "kube-apiserver"
  go_build "$KC_REPO/devtools/go/kube-apiserver" kube-apiserver.log -ldflags "$(kube_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver
  step_end "built ($("$BIN/kube-apiserver" --version))"
fi

# --- etcd ------------------------------------------------------------------------------------------------------------
step_start "etcd"
if p=$(installed etcd); then
  step_end "using $p ($("$p" --version | head -1))"
elif [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server) \
    >"$LOGS/apt-etcd.log" 2>&1 || fail "apt-get install etcd-server (log: $LOGS/apt-etcd.log)"
  step_end "installed etcd-server ($(etcd --version | head -1))"
else
  fail "etcd not found: install the etcd-server package (Debian/Ubuntu) or put etcd on PATH"
fi

# --- the node: Debian packages ---------------------------------------------------------------------------------------
# runc (OCI runtime), the CNI plugins, iptables and conntrack for kube-proxy, mmdebstrap and buildah for the images.
step_start "node packages"
missing=()
for pair in runc:runc iptables:iptables conntrack:conntrack mmdebstrap:mmdebstrap buildah:buildah gcc:gcc \
            /usr/lib/cni/bridge:containernetworking-plugins; do
  cmd="${pair%%:*}" pkg="${pair#*:}"
  if [[ "$cmd" == /* ]]; then [[ -x "$cmd" ]] || missing+=("$pkg"); else command -v "$cmd" >/dev/null || missing+=("$pkg"); fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  step_end "present (runc $(runc --version | head -1 | awk '{print $3}'), buildah $(buildah --version | awk '{print $3}'))"
elif [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") \
    >"$LOGS/apt-node.log" 2>&1 || fail "apt-get install ${missing[*]} (log: $LOGS/apt-node.log)"
  step_end "installed ${missing[*]}"
else
  fail "missing ${missing[*]}: install these Debian packages (as root) to run the local node"
fi

# --- the node: kubelet, controllers, kube-proxy (same k8s.io/kubernetes pin as kube-apiserver) -----------------------
NODE_BIN="$(kc_node_bin)"
mkdir -p "$NODE_BIN"
echo "[toolchain] node bin $NODE_BIN"
step_start "kubelet and friends ${KC_KUBE_VERSION}"
if [[ -x "$NODE_BIN/kubelet" && -x "$NODE_BIN/kube-controller-manager" && -x "$NODE_BIN/kube-scheduler" \
      && -x "$NODE_BIN/kube-proxy" ]]; then
  step_end "cached"
else
  need_go "kubelet"
  TARGET_BIN="$NODE_BIN" go_build "$KC_REPO/devtools/go/kube-node" kube-node.log -ldflags "$(kube_ldflags)" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy
  step_end "built ($("$NODE_BIN/kubelet" --version))"
fi

step_start "containerd ${KC_CONTAINERD_VERSION}"
if [[ -x "$NODE_BIN/containerd" && -x "$NODE_BIN/containerd-shim-runc-v2" && -x "$NODE_BIN/ctr" ]]; then
  step_end "cached"
else
  need_go "containerd"
  # Static, without the cgo-only snapshotters (btrfs, devmapper, zfs); the node uses overlayfs.
  TARGET_BIN="$NODE_BIN" go_build "$KC_REPO/devtools/go/containerd" containerd.log \
    -tags "no_btrfs no_devmapper no_zfs urfave_cli_no_docs" \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=${KC_CONTAINERD_VERSION}" \
    github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
    github.com/containerd/containerd/v2/cmd/ctr
  step_end "built ($("$NODE_BIN/containerd" --version | awk '{print $3}'))"
fi

step_start "coredns ${KC_COREDNS_VERSION}"
if [[ -x "$NODE_BIN/coredns" ]]; then
  step_end "cached"
else
  need_go "coredns"
  TARGET_BIN="$NODE_BIN" go_build "$KC_REPO/devtools/go/coredns" coredns.log \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=${KC_COREDNS_VERSION}" .
  step_end "built ($("$NODE_BIN/coredns" -version | head -1))"
fi

# pause.c comes from the k8s.io/kubernetes module (the images step compiles it into the sandbox image).
(cd "$KC_REPO/devtools/go/kube-node" && go mod download k8s.io/kubernetes) >"$LOGS/kube-module.log" 2>&1 \
  || fail "go mod download k8s.io/kubernetes (log: $LOGS/kube-module.log)"

echo "[toolchain] ready in $(( $(date +%s) - T0 ))s; use it with: source devtools/cluster/env.sh"
