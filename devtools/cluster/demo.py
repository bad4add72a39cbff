"""`make demo`: the main job on an embedded default, end to end, on this machine only.

    python -m devtools.cluster.demo up     (`make demo` runs this after the toolchain, with `devtools/cluster/env.sh`
    sourced)
    python -m devtools.cluster.demo down

`up`: start the local cluster with its real node (devtools/cluster/controlplane.py; the images built from the
project's Dockerfiles, the eventing publisher double as a pod behind `eventing-publisher-proxy.kyma-system`) and the
loopback GitHub double; `pulumi up` the `local` stack (Pulumi.local.yaml) through the real CLI and engine, whose
await logic returns once the registration Job's pod has written the Application and the gateway's pods pass their
probes; route the hook's host to the gateway's Service (Istio's part on Kyma); have the double deliver a push, signed
as GitHub signs it; print the CloudEvent the publisher pod received, whether eventing would route it to the
extension's Subscription (declared in Pulumi.local.yaml), the stack outputs, and the `export KUBECONFIG=...` line. The
cluster stays up. `down`: `pulumi destroy`, stop the double, stop the cluster.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from devtools.cluster import addons, procs
from devtools.cluster import controlplane as cp
from devtools.cluster import stack as driver
from devtools.cluster.kubeapi import KubeApi, KubeApiError, wait_for
from devtools.doubles.shared_data import SharedDataMissing, shared_path
from kyma_connectors.core.eventing import TypeMatching, publisher_source, routes_to

REPO = Path(__file__).resolve().parents[2]
STACK = "local"
# Encrypts Pulumi.local.yaml's two loopback-only demo values; documented there, protects nothing real.
DEFAULT_PASSPHRASE = "kyma-connectors-local"  # noqa: S105


class DemoError(Exception):
    """A demo step failed; the message says which and where its log is."""


@dataclass(frozen=True)
class DemoSettings:
    run_dir: Path
    github_port: int

    @classmethod
    def from_env(cls) -> DemoSettings:
        env = os.environ
        return cls(
            run_dir=Path(env.get("KC_DEMO_RUN_DIR", "/tmp/kyma-connectors/demo")),  # noqa: S108
            github_port=int(env.get("KC_DEMO_GITHUB_PORT", "18081")),  # Pulumi.local.yaml's apiUrl uses this port
        )

    @staticmethod
    def plane() -> cp.Settings:
        """The demo's cluster: the default plane (``KC_*``), always with its node."""
        return dataclasses.replace(cp.Settings.from_env(), node=True)


class Progress:
    """Numbered, timed progress lines."""

    def __init__(self, total: int) -> None:
        self.total, self.number, self.started = total, 0, time.monotonic()

    def step(self, what: str) -> None:
        self.number += 1
        print(f"\n[demo {self.number}/{self.total} +{time.monotonic() - self.started:5.1f}s] {what}", flush=True)

    @staticmethod
    def say(line: str) -> None:
        print(f"    {line}", flush=True)


def _stack_env(kubeconfig: Path) -> dict[str, str]:
    env = {"KUBECONFIG": str(kubeconfig)}
    if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        env["PULUMI_CONFIG_PASSPHRASE"] = DEFAULT_PASSPHRASE
    return env


def _demo_connector(stack: Any) -> dict[str, Any]:
    """The first GitHub connector of the stack config, secrets decrypted (as `pulumi config get` shows them)."""
    connectors = json.loads(stack.get_config("kyma-connectors:connectors").value)
    for connector in connectors:
        if connector.get("solution") == "github":
            return dict(connector)
    raise DemoError("Pulumi.local.yaml has no github connector")


def _wait_http(url: str, what: str, timeout: float = 30.0) -> None:
    def ok() -> bool:
        try:
            return requests.get(url, timeout=2).status_code < 500
        except requests.RequestException:
            return False

    try:
        wait_for(ok, timeout, what)
    except KubeApiError as exc:
        raise DemoError(str(exc)) from exc


def _start(settings: DemoSettings, name: str, module: str, args: list[str], env: dict[str, str] | None = None,
           health: str | None = None) -> None:
    if procs.alive(settings.run_dir, name, module):
        Progress.say(f"{name} already running")
        return
    proc = procs.spawn(settings.run_dir, name, [sys.executable, "-m", module, *args],
                       env={**os.environ, **(env or {})}, cwd=REPO)
    if health:
        try:
            _wait_http(health, name)
        except DemoError as exc:
            raise DemoError(f"{exc}; log:\n{procs.log_tail(settings.run_dir, name)}") from exc
    if proc.poll() is not None:
        raise DemoError(f"{name} exited; log:\n{procs.log_tail(settings.run_dir, name)}")
    Progress.say(f"{name} pid {proc.pid}, log {settings.run_dir / (name + '.log')}")


def up(settings: DemoSettings) -> None:
    progress = Progress(8)
    progress.step("local cluster: control plane, a real node, the images built from the Dockerfiles, the publisher pod")
    plane = settings.plane()
    kubeconfig = cp.up(plane, log=Progress.say)
    github = f"http://127.0.0.1:{settings.github_port}"

    progress.step(f"GitHub double on {github} (a host process: it stands in for github.com)")
    stack = driver.select(STACK, REPO, env=_stack_env(kubeconfig))
    connector = _demo_connector(stack)
    _start(settings, "github", "devtools.doubles.github",
           ["--port", str(settings.github_port), "--token", connector["credentials"]["token"]],
           health=f"{github}/_admin/hooks")

    progress.step(f"pulumi up --stack {STACK} (real CLI and engine; its await logic waits for the pods)")
    log, _ = driver.run("up", stack, quiet=True)
    for op, names in log.by_op().items():
        Progress.say(f"{op}: {len(names)} resources")
    if not log.changed():
        Progress.say("no changes (the stack was already up to date)")
    outputs = driver.outputs(stack)
    mine = outputs.get("connectors", {}).get(connector["name"], {})
    configured = stack.get_all_config().get("kyma-connectors:namespace")
    namespace = configured.value if configured else "kyma-connectors"
    with KubeApi.from_kubeconfig(kubeconfig) as api:
        for line in _workloads(api, namespace, connector["name"]):
            Progress.say(line)
        hook = _hook(github, mine)
        Progress.say(f"webhook {hook['id']} on {hook['target']}: events {hook['events']} -> {hook['config']['url']}")

        progress.step("the hook's host routed to the gateway's Service (on Kyma: the APIRule and Istio's gateway)")
        gateway = addons.gateway_url(api, namespace)
        host = str(urlsplit(hook["config"]["url"]).hostname)
        requests.put(f"{github}/_admin/ingress", json={host: gateway}, timeout=10).raise_for_status()
        Progress.say(f"{host} -> {gateway}")
        publisher = addons.service_url(api, addons.NAMESPACE, addons.NAME)

    progress.step("GitHub delivers a push, signed with the hook's secret, to the gateway pods")
    requests.delete(f"{publisher}/events", timeout=10).raise_for_status()
    push = json.loads(shared_path("github/payloads/push/payload.json").read_text())
    requests.post(f"{github}/_admin/activity", timeout=30, json={
        "scope": "repo", "target": hook["target"], "event": "push", "payload": push}).raise_for_status()
    delivery = _hook(github, mine)["deliveries"][-1]
    Progress.say(f"delivery {delivery['guid']}: HTTP {delivery['status_code']} {delivery['status']}")
    if not 200 <= delivery["status_code"] < 300:
        raise DemoError(f"the gateway refused the delivery: HTTP {delivery['status_code']} {delivery['status']}")

    progress.step(f"the CloudEvent the publisher pod received ({addons.NAMESPACE}/{addons.NAME}, through cluster DNS)")
    events: list[dict[str, Any]] = []

    def arrived() -> bool:
        events[:] = [e for e in requests.get(f"{publisher}/events", timeout=5).json() if e["id"] == delivery["guid"]]
        return bool(events)

    try:
        wait_for(arrived, 30, "the CloudEvent at the publisher pod")
    except KubeApiError as exc:
        raise DemoError(f"{exc}; the gateway's log: KUBECONFIG={kubeconfig} kubectl -n {namespace} logs "
                        "-l app.kubernetes.io/name=event-gateway") from exc
    print(json.dumps(_summarise(events[0]), indent=2), flush=True)

    progress.step("the extension's Subscription, and whether Kyma eventing routes that event to it")
    with KubeApi.from_kubeconfig(kubeconfig) as api:
        print(json.dumps(_routing(api, namespace, connector["name"], events[0]), indent=2), flush=True)

    progress.step("stack outputs")
    print(json.dumps(_shorten(outputs), indent=2, sort_keys=True), flush=True)
    print(f"\n[demo] running; the cluster stays up until `make demo-down`. To look around:\n"
          f"export KUBECONFIG={kubeconfig}", flush=True)


def _hook(github: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """The connector's hook on the double, by the id the stack exported."""
    ids = {str(i) for i in (outputs.get("webhookIds") or {}).values()}
    found = [h for h in requests.get(f"{github}/_admin/hooks", timeout=10).json() if str(h["id"]) in ids]
    if len(found) != 1:
        raise DemoError(f"expected the stack's one hook on the GitHub double (ids {sorted(ids)}), found {len(found)}")
    hook: dict[str, Any] = found[0]
    return hook


def _workloads(api: KubeApi, namespace: str, application: str) -> list[str]:
    """What ran: the pods, the Job's outcome, and the services the registrar pod wrote into the Application."""
    lines = []
    for pod in api.items(f"/api/v1/namespaces/{namespace}/pods"):
        status = pod.get("status") or {}
        ready = sum(1 for c in status.get("containerStatuses") or [] if c.get("ready"))
        image = pod["spec"]["containers"][0]["image"]
        lines.append(f"pod {pod['metadata']['name']}: {status.get('phase')}, {ready} ready, image {image}")
    app = api.get(f"/apis/applicationconnector.kyma-project.io/v1alpha1/applications/{application}") or {}
    services = (app.get("spec") or {}).get("services") or []
    entries = sum(len(service.get("entries") or []) for service in services)
    lines.append(f"Application {application}: {len(services)} service(s), {entries} entr(ies), "
                 "written by the Job's pod")
    return lines


def _routing(api: KubeApi, namespace: str, application: str, event: dict[str, Any]) -> list[dict[str, Any]]:
    """Each Subscription in the namespace and whether eventing would deliver ``event`` to it.

    The publisher proxy publishes under the Application's ``application-type`` label, else its name
    (kyma_connectors/core/eventing.py names the Kyma code); the Subscription matches on its cleaned source and types.
    """
    app = api.get(f"/apis/applicationconnector.kyma-project.io/v1alpha1/applications/{application}") or {}
    label = (app.get("metadata", {}).get("labels") or {}).get("application-type")
    source = publisher_source(application, label)
    found = []
    for sub in api.items(f"/apis/eventing.kyma-project.io/v1alpha2/namespaces/{namespace}/subscriptions"):
        spec = sub.get("spec") or {}
        matching = TypeMatching(spec.get("typeMatching") or "standard")
        receives = any(routes_to(source, str(event.get("type")), str(spec.get("source")), matching, str(t))
                       for t in spec.get("types") or [])
        found.append({"subscription": f"{namespace}/{sub['metadata']['name']}", "source": spec.get("source"),
                      "types": spec.get("types"), "sink": spec.get("sink"), "receives": receives})
    return found


def _summarise(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its data cut to its top-level keys (a push payload is a few KB)."""
    shown = {k: v for k, v in event.items() if k != "data_bytes"}
    data = shown.get("data")
    if isinstance(data, dict):
        shown["data"] = {key: "..." for key in data}
    return shown


def _shorten(value: Any, keep: int = 5) -> Any:
    """Long lists cut to their first items and a count, for printing."""
    if isinstance(value, dict):
        return {k: _shorten(v, keep) for k, v in value.items()}
    if isinstance(value, list) and len(value) > keep + 1:
        return [*value[:keep], f"... {len(value) - keep} more"]
    return value


def down(settings: DemoSettings) -> None:
    say: Callable[[str], None] = Progress.say
    print("[demo] stopping", flush=True)
    plane = settings.plane()
    if cp.status(plane).healthy:
        stack = driver.select(STACK, REPO, env=_stack_env(plane.kubeconfig))
        try:
            log, _ = driver.run("destroy", stack, quiet=True)
            say(f"pulumi destroy: {sum(len(v) for v in log.by_op().values())} resources deleted")
        except driver.StackError as exc:
            say(f"pulumi destroy failed (state kept; run `make demo` then `make demo-down` again): {exc}")
    procs.stop(settings.run_dir, "github", "devtools.doubles.github", say)
    cp.down(plane, log=say)
    print("[demo] down", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.cluster.demo", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down"])
    args = parser.parse_args(argv)
    settings = DemoSettings.from_env()
    try:
        up(settings) if args.action == "up" else down(settings)
    except (DemoError, driver.StackError, cp.ControlPlaneError, KubeApiError, LookupError, SharedDataMissing) as exc:
        print(f"\n[demo] failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
