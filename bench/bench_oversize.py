"""Benchmark of fitting oversized deliveries to the publisher's 65,536-byte limit (kyma_connectors/gateway/oversize.py).

Not a test: it prints figures::

    .venv/bin/python bench/bench_oversize.py [--sizes 0.1,1,5,25] [--rounds 3]

Why: the gateway trims an oversized event on receipt, in a worker thread, while the sender waits for its answer;
GitHub waits 10 s for a webhook answer, and sends up to 25 MB. The input is GitHub's own push example
(../shared/github/payloads/push) with its commit repeated until the payload has the given size in MB, the common
shape of a large delivery. For each size: the best and median wall time of ``Fitter.fit`` over the rounds, the
size published, how many commits were kept, and the process's peak RSS growth.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kyma_connectors.gateway.oversize import Fitter  # noqa: E402 - after the path setup
from kyma_connectors.gateway.records import Event  # noqa: E402

SHARED = Path(os.environ.get("KC_SHARED", REPO.parent / "shared"))
PUSH = SHARED / "github" / "payloads" / "push" / "with-new-branch.payload.json"


def push_of(megabytes: float) -> bytes:
    push: dict[str, Any] = json.loads(PUSH.read_text(encoding="utf-8"))
    commit = push["commits"][0]
    one = len(json.dumps(commit)) + 320
    count = max(1, int(megabytes * 1_000_000 / one))
    push["commits"] = [{**commit, "id": f"{n:040x}", "message": f"change {n}: " + "x" * 300} for n in range(count)]
    return json.dumps(push).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="0.1,1,5,25", help="payload sizes in MB, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fitter = Fitter()
    print(f"{'payload':>10} {'best ms':>9} {'median ms':>10} {'published':>10} {'commits kept':>14} {'RSS +MiB':>9}")
    for size in (float(s) for s in args.sizes.split(",")):
        data = push_of(size)
        event = Event(id="d", type="push.v1", source="github-acme", time="2026-01-01T00:00:00Z", data=data)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times: list[float] = []
        fitted = event
        for _ in range(args.rounds):
            started = time.perf_counter()
            fitted = fitter.fit(event)
            times.append((time.perf_counter() - started) * 1000)
        rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        kept = fitted.extensions.get("truncatedarrays", "-")
        print(f"{len(data):>10,} {min(times):>9.1f} {statistics.median(times):>10.1f} {len(fitted.data):>10,} "
              f"{kept:>14} {rss_growth:>9.1f}")


if __name__ == "__main__":
    main()
