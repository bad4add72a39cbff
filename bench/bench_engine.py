"""Benchmark of the real Pulumi engine on the local control plane: preview and up wall time for 1 and 10 connectors.

Not a test: it prints figures (bench/README.md records them with this command)::

    source devtools/cluster/env.sh && .venv/bin/python bench/bench_engine.py [--sizes 1 10] [--repeat 3]

For each size it starts from an empty file-state stack in a temp project (the repo's program, N GitHub connectors
against the loopback GitHub double, the images built from the Dockerfiles), on a fresh cluster of its own with its real
node (the await logic waits for every pod, so the figures include pod start-up), and times with
the Automation API driver (the same CLI + engine `make e2e` uses): `preview` of the creates, `up` (creates), `preview`
and `up` with nothing to change, and `destroy`. Each figure is the median of `--repeat` runs (preview/no-change runs
repeat on the same stack; create/destroy repeat on a fresh stack). The ratio column compares with the 1-connector run
of the same process, so machine speed cancels out.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pulumi import automation as auto

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devtools.cluster import controlplane as cp  # noqa: E402
from devtools.cluster import stack as driver  # noqa: E402
from devtools.doubles import process as doubles  # noqa: E402

TOKEN = "ghp_bench_loopback_only"  # noqa: S105 - accepted by the loopback double only
PHASES = ("preview (create)", "up (create)", "preview (no change)", "up (no change)", "destroy")


def config(github_url: str, size: int, namespace: str) -> dict[str, auto.ConfigValue]:
    values: dict[str, str] = {
        "clusterDomain": "bench.kyma.local", "namespace": namespace, "createNamespace": "true",
        "images.gateway": "kyma-connectors/event-gateway:local", "images.registrar": "kyma-connectors/registrar:local",
    }
    for i in range(size):
        values |= {f"connectors[{i}].name": f"gh-{i}", f"connectors[{i}].solution": "github",
                   f"connectors[{i}].apiUrl": f"{github_url}/api/v3",
                   f"connectors[{i}].github.repositories[0]": f"bench/repo-{i}",
                   f"connectors[{i}].events[0]": "push", f"connectors[{i}].events[1]": "issues"}
    result = {f"kyma-connectors:{k}": auto.ConfigValue(v) for k, v in values.items()}
    for i in range(size):
        result[f"kyma-connectors:connectors[{i}].credentials.token"] = auto.ConfigValue(TOKEN, secret=True)
        result[f"kyma-connectors:connectors[{i}].webhookSecret"] = auto.ConfigValue(f"bench-secret-{i}", secret=True)
    return result


def timed(stack: auto.Stack, action: str, expect_no_changes: bool) -> float:
    """Wall time of one engine operation, CLI start to exit."""
    start = time.perf_counter()
    driver.run(action, stack, expect_no_changes=expect_no_changes, quiet=True)
    return time.perf_counter() - start


def bench_size(size: int, repeat: int, kubeconfig: Path, github_url: str, root: Path) -> dict[str, float]:
    samples: dict[str, list[float]] = {phase: [] for phase in PHASES}
    env = {"KUBECONFIG": str(kubeconfig), "PULUMI_CONFIG_PASSPHRASE": "bench"}
    for run in range(repeat):
        state = root / f"state-{size}-{run}"
        state.mkdir(parents=True)
        work = driver.scratch_project(root / f"project-{size}-{run}")
        stack = driver.select(f"bench{size}", work, REPO / "__main__.py",
                              env={**env, "PULUMI_BACKEND_URL": f"file://{state}"})
        # A fresh namespace per run: a destroyed one stays Terminating (no namespace controller runs here).
        stack.set_all_config(config(github_url, size, f"kc-bench-{size}-{run}"), path=True)
        for phase, action, unchanged in (("preview (create)", "preview", False), ("up (create)", "up", False),
                                         ("preview (no change)", "preview", True), ("up (no change)", "up", True),
                                         ("destroy", "destroy", False)):
            samples[phase].append(timed(stack, action, unchanged))
    return {phase: statistics.median(values) for phase, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    plane = cp.Settings.from_env(prefix="KC_BENCH_", run_dir=Path("/tmp/kyma-connectors/bench-cp"),
                                 apiserver_port=16943, etcd_port=24290)
    settings = dataclasses.replace(plane, node=True)
    cp.down(settings, log=lambda _: None)
    kubeconfig = cp.up(settings, log=lambda _: None)
    try:
        with doubles.running("devtools.doubles.github", "--port", "0", "--token", TOKEN) as github, \
                tempfile.TemporaryDirectory(prefix="kc-bench-") as root:
            results = {size: bench_size(size, args.repeat, kubeconfig, github.url, Path(root)) for size in args.sizes}
    finally:
        cp.down(settings, log=lambda _: None)

    base = results[min(results)]
    print(f"\npulumi wall time on the local control plane, median of {args.repeat} (seconds; x = ratio to "
          f"{min(results)} connector(s))")
    print(f"{'phase':<22}" + "".join(f"{str(size) + ' conn.':>18}" for size in results))
    for phase in PHASES:
        cells = "".join(f"{results[size][phase]:>9.2f} ({results[size][phase] / base[phase]:>4.1f}x)"
                        for size in results)
        print(f"{phase:<22}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
