"""Benchmark: evaluation of the Pulumi program under mocks for 1, 10 and 50 connectors (not a test; prints figures).

What it measures: the wall time of one full program run (config load and validation, every component, every resource
registration through the recording mock monitor, outputs) -- the part of ``pulumi preview``/``up`` that is ours, with
the engine and providers replaced by in-process mocks. Target: under 30 ms per connector, growing linearly.

Connectors alternate GitHub (two repositories + an organization: three webhooks) and Qualtrics, so the mix is the
example stack's. After one warm-up run, ``--repeat`` rounds each run every size once (interleaved, so a burst of load
on this shared machine hits all sizes alike rather than one); the median decides, the best run shows the noise, and
the per-connector ratio against the 10-connector run shows linearity. Each round also runs 10 connectors with the
SDK's own stack capture, for the comparison line. Run::

    .venv/bin/python bench/bench_program.py            # or: make bench-program
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.pulumi_mocks import PROJECT, MockStack, example_config, run_main
from tuning import stack_traces

SIZES = (1, 10, 50)
TARGET_MS = 30.0


def connectors(count: int) -> list[dict[str, Any]]:
    """``count`` valid connectors, GitHub and Qualtrics alternating, tokens set."""
    github, qualtrics = example_config()[f"{PROJECT}:connectors"]
    out = []
    for index in range(count):
        template = github if index % 2 == 0 else qualtrics
        out.append({**template, "name": f"{template['name']}-{index}"})
    return out


def run_once(count: int) -> tuple[float, float, int]:
    """Wall and CPU seconds of one program run with ``count`` connectors, and how many resources it registered.

    CPU time (this process, all threads) is the robust figure on a shared machine: other processes' load stretches
    wall time but not the work done here.
    """
    config = {**example_config(), f"{PROJECT}:connectors": connectors(count)}
    stack = MockStack(config=config, secret_keys=["connectors"], stack="bench")
    gc.collect()  # start like a fresh process: no garbage left by the previous run (not timed)
    wall, cpu = time.perf_counter(), time.process_time()
    run_main(stack)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    MockStack.reset()
    return wall, cpu, len(stack.registrations)


def floor_once(resources: int) -> float:
    """CPU seconds to register ``resources`` trivial ConfigMaps under the same mocks: the SDK's per-resource cost.

    Same conditions as the program: a collected heap at the start, the cyclic collector off (``tune_gc``), the
    program's stack capture (``tuning.stack_traces``).
    """
    import pulumi_kubernetes as k8s

    def program() -> None:
        for index in range(resources):
            k8s.core.v1.ConfigMap(f"cm-{index}", metadata={"name": f"cm-{index}", "namespace": "bench"},
                                  data={"key": "value"})

    stack = MockStack(stack="bench")
    gc.collect()
    gc.disable()
    undo = stack_traces.install()
    try:
        start = time.process_time()
        stack.run(program)
        elapsed = time.process_time() - start
    finally:
        undo()
        gc.enable()
    MockStack.reset()
    return elapsed


@contextlib.contextmanager
def sdk_stack_capture() -> Iterator[None]:
    """Program runs in this block keep the SDK's own stack capture (the program's opt-out): the comparison line."""
    before = os.environ.get(stack_traces.OPT_OUT_ENV)
    os.environ[stack_traces.OPT_OUT_ENV] = "sdk"
    try:
        yield
    finally:
        if before is None:
            del os.environ[stack_traces.OPT_OUT_ENV]
        else:
            os.environ[stack_traces.OPT_OUT_ENV] = before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="rounds (every size once per round; median reported)")
    args = parser.parse_args()
    run_once(2)  # warm-up: imports, spec parsing caches, dill
    runs: dict[int, list[tuple[float, float, int]]] = {size: [] for size in SIZES}
    sdk_capture: list[float] = []
    for _ in range(args.repeat):
        for size in SIZES:
            runs[size].append(run_once(size))
        with sdk_stack_capture():
            sdk_capture.append(run_once(10)[1])
    rows = []
    for size in SIZES:
        wall = statistics.median(r[0] for r in runs[size]) * 1000
        cpu = statistics.median(r[1] for r in runs[size]) * 1000
        best = min(r[1] for r in runs[size]) * 1000
        rows.append((size, runs[size][-1][2], wall, cpu, cpu / size, best / size))
    base = next(per for size, *_, per, _ in rows if size == 10)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (other work stretches wall time, not CPU time)")
    header = ("connectors", "resources", "wall ms", "CPU ms", "CPU ms/conn", "best", "vs 10")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (10, 9, 9, 9, 11, 6, 6), strict=True)))
    for size, resources, wall, cpu, per, best in rows:
        print(f"{size:>10} {resources:>9} {wall:>9.1f} {cpu:>9.1f} {per:>11.2f} {best:>6.2f} {per / base:>6.2f}")
    per_connector_resources = rows[-1][1] / rows[-1][0]
    floor = statistics.median(floor_once(rows[-1][1]) for _ in range(args.repeat)) * 1000 / rows[-1][0]
    sdk = statistics.median(sdk_capture) * 100
    print(f"stack capture (10 connectors, same rounds): SDK's {sdk:.2f} CPU ms/conn, tuning.stack_traces {base:.2f} "
          f"({base / sdk:.2f}x)")
    print(f"SDK floor: {per_connector_resources:.0f} trivial resources per connector under the same mocks take "
          f"{floor:.2f} CPU ms (the program's own share is the rest)")
    worst = max(per for size, *_, per, _ in rows if size >= 10)
    verdict = "meets" if worst < TARGET_MS else "MISSES"
    print(f"target: < {TARGET_MS:.0f} ms/connector for 10+ connectors -> {verdict} (worst {worst:.2f} CPU ms)")


if __name__ == "__main__":
    main()
