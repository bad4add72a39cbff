"""Benchmark of the real Pulumi engine on the local control plane: preview and up wall time for 1 and 10 connectors.

Not a test: it prints figures (bench/README.md records them with this command)::

    source devtools/cluster/env.sh && .venv/bin/python bench/bench_engine.py [--sizes 1 10] [--repeat 3]

For each size it starts from an empty file-state stack in a temp project (the repo's program, N GitHub connectors
against the loopback GitHub double, one gateway replica each, the images built from the Dockerfiles), on a fresh
cluster of its own with its real node (the await logic waits for every pod, so the figures include pod start-up), and
times with the Automation API driver (the same CLI + engine `make e2e` uses): `preview` of the creates, `up`
(creates), `preview` and `up` with nothing to change, and `destroy`. Each figure is the median of `--repeat` runs
(preview/no-change runs repeat on the same stack; create/destroy repeat on a fresh stack). The ratio column compares
with the 1-connector run of the same process, so machine speed cancels out.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
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
from devtools.cluster.kubeapi import KubeApi  # noqa: E402
from devtools.doubles import process as doubles  # noqa: E402

TOKEN = "ghp_bench_loopback_only"  # noqa: S105 - accepted by the loopback double only
PHASES = ("preview (create)", "up (create)", "preview (no change)", "up (no change)", "destroy")
POD_WINDOW, ENGINE_SHARE = "  of which pods start", "  of which engine"
GATEWAY_REPLICAS = 1
"""One gateway pod per connector, not the default two: the node has 2 CPUs, and ten connectors' twenty gateways at
100m each already claim all of it, so the registration Jobs' pods stay Pending ("Insufficient cpu") and `up` never
ends. The engine's work per connector is the same either way."""
KUBEPODS_MEMORY = Path("/sys/fs/cgroup/memory/kubepods/memory.usage_in_bytes")  # kubelet's cgroupfs root, cgroup v1


def config(github_url: str, size: int, namespace: str) -> dict[str, auto.ConfigValue]:
    values: dict[str, str] = {
        "clusterDomain": "bench.kyma.local", "namespace": namespace, "createNamespace": "true",
        "images.gateway": "kyma-connectors/event-gateway:local", "images.registrar": "kyma-connectors/registrar:local",
    }
    for i in range(size):
        values |= {f"connectors[{i}].name": f"gh-{i}", f"connectors[{i}].solution": "github",
                   f"connectors[{i}].apiUrl": f"{github_url}/api/v3",
                   f"connectors[{i}].github.repositories[0]": f"bench/repo-{i}",
                   f"connectors[{i}].events[0]": "push", f"connectors[{i}].events[1]": "issues",
                   f"connectors[{i}].gateway.replicas": str(GATEWAY_REPLICAS)}
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


def _seconds(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def pod_window(kubeconfig: Path, namespace: str) -> float:
    """From the first pod's creation to the last pod's readiness (a Job's pod: its completion), in seconds: the part
    of `up` the engine spends waiting for pods to start. Kubernetes stamps these to the second."""
    with KubeApi.from_kubeconfig(kubeconfig) as api:
        pods = api.items(f"/api/v1/namespaces/{namespace}/pods")
    created: list[float] = []
    done: list[float] = []
    for pod in pods:
        created.append(_seconds(pod["metadata"]["creationTimestamp"]))
        status = pod.get("status") or {}
        ready = [c["lastTransitionTime"] for c in status.get("conditions") or [] if c["type"] == "Ready"
                 and c["status"] == "True"]
        finished = [c["state"]["terminated"]["finishedAt"] for c in status.get("containerStatuses") or []
                    if "terminated" in (c.get("state") or {})]
        done.extend(_seconds(t) for t in ready + finished)
    return max(done) - min(created) if created and done else 0.0


def memory_mib(run_dir: Path) -> tuple[float, float]:
    """Resident memory of the cluster's own processes (the pid files in its run dir) and the pods' cgroup usage."""
    rss = 0
    for pid_file in run_dir.glob("*.pid"):
        with contextlib.suppress(OSError, ValueError):
            status = Path(f"/proc/{int(pid_file.read_text())}/status").read_text()
            rss += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) * 1024
    pods = int(KUBEPODS_MEMORY.read_text()) if KUBEPODS_MEMORY.exists() else 0
    return rss / 2**20, pods / 2**20


def bench_size(size: int, repeat: int, kubeconfig: Path, github_url: str, root: Path) -> dict[str, float]:
    samples: dict[str, list[float]] = {phase: [] for phase in (*PHASES, POD_WINDOW, ENGINE_SHARE)}
    env = {"KUBECONFIG": str(kubeconfig), "PULUMI_CONFIG_PASSPHRASE": "bench"}
    for run in range(repeat):
        state = root / f"state-{size}-{run}"
        state.mkdir(parents=True)
        work = driver.scratch_project(root / f"project-{size}-{run}")
        stack = driver.select(f"bench{size}", work, REPO / "__main__.py",
                              env={**env, "PULUMI_BACKEND_URL": f"file://{state}"})
        namespace = f"kc-bench-{size}-{run}"  # a fresh namespace per run: a destroyed one takes a while to go
        stack.set_all_config(config(github_url, size, namespace), path=True)
        for phase, action, unchanged in (("preview (create)", "preview", False), ("up (create)", "up", False),
                                         ("preview (no change)", "preview", True), ("up (no change)", "up", True),
                                         ("destroy", "destroy", False)):
            samples[phase].append(timed(stack, action, unchanged))
            if phase == "up (create)":
                window = pod_window(kubeconfig, namespace)
                samples[POD_WINDOW].append(window)
                samples[ENGINE_SHARE].append(samples[phase][-1] - window)
                own, pods = memory_mib(kubeconfig.parent)
                print(f"{size} connector(s) up: cluster processes {own:.0f} MiB RSS, pods {pods:.0f} MiB (cgroup)",
                      flush=True)
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
    for phase in (*PHASES[:2], POD_WINDOW, ENGINE_SHARE, *PHASES[2:]):
        cells = "".join(f"{results[size][phase]:>9.2f} ({results[size][phase] / base[phase]:>4.1f}x)"
                        for size in results)
        print(f"{phase:<22}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
