# shellcheck shell=bash
# Source me: `source devtools/cluster/env.sh`. Puts the offline toolchain (devtools/cluster/toolchain.sh: engine and node
# bin directories) and the project venv first on PATH and sets the Pulumi environment for offline, local-state use. Safe to source more than once.
#
# Everything is a default: a variable you set before sourcing wins.
#   PULUMI_BACKEND_URL   file://<repo>/.state  (local state, no cloud account)
#   PULUMI_HOME          <cache>/pulumi-home when the toolchain's own CLI is used (keeps ~/.pulumi untouched)
#   PULUMI_SKIP_UPDATE_CHECK=true                     no call home
#   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true  a missing plugin fails at once instead of a download attempt
#   PULUMI_PYTHON_CMD    the venv's python (the dynamic-provider shim runs `python -m pulumi.dynamic` with it)
#   PYTHONPATH           the repo root (dynamic providers unpickle classes from the program's packages)
# shellcheck source=devtools/cluster/toolchain-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/toolchain-lib.sh"

KC_TOOLCHAIN_BIN="$(kc_toolchain_bin)"
KC_NODE_BIN="$(kc_node_bin)"
export KC_REPO KC_CACHE KC_TOOLCHAIN_BIN KC_NODE_BIN KC_KUBE_VERSION
export KC_GOMODCACHE="${KC_GOMODCACHE:-$KC_CACHE/go/mod}"

_kc_prepend() { case ":$PATH:" in *":$1:"*) ;; *) PATH="$1:$PATH" ;; esac; }
[[ -d "$KC_REPO/.venv/bin" ]] && _kc_prepend "$KC_REPO/.venv/bin"
_kc_prepend "$KC_NODE_BIN"
_kc_prepend "$KC_TOOLCHAIN_BIN"
export PATH
unset -f _kc_prepend

if [[ -x "$KC_TOOLCHAIN_BIN/pulumi" ]]; then
  export PULUMI_HOME="${PULUMI_HOME:-$KC_CACHE/pulumi-home}"
fi
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$KC_REPO/.state}"
[[ "$PULUMI_BACKEND_URL" == file://* ]] && mkdir -p "${PULUMI_BACKEND_URL#file://}"
export PULUMI_SKIP_UPDATE_CHECK="${PULUMI_SKIP_UPDATE_CHECK:-true}"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}"
if [[ -x "$KC_REPO/.venv/bin/python" ]]; then
  export PULUMI_PYTHON_CMD="${PULUMI_PYTHON_CMD:-$KC_REPO/.venv/bin/python}"
fi
case ":${PYTHONPATH:-}:" in *":$KC_REPO:"*) ;; *) export PYTHONPATH="$KC_REPO${PYTHONPATH:+:$PYTHONPATH}" ;; esac
