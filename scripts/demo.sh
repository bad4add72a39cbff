#!/usr/bin/env bash
# `make demo` / `make demo-down`: the main job on an embedded default (see scripts/demo.py for every step).
#   scripts/demo.sh up|down
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$KC_REPO"
exec "$KC_REPO/.venv/bin/python" -m scripts.demo "$@"
