"""`make demo`: the main job on an embedded default, end to end, on this machine only.

    python -m devtools.cluster.demo up     (`make demo` runs this after the toolchain, with `devtools/cluster/env.sh`
    sourced)
    python -m devtools.cluster.demo down

`up`: start the local control plane, the loopback GitHub double and the eventing publisher double; `pulumi up` the
`local` stack (Pulumi.local.yaml) through the real CLI and engine, which registers the Application, Secrets, Job,
gateway Deployment/Service/APIRule in the API server and the webhook on the GitHub double; then run the event
gateway as a local process with the environment its Deployment gives the pod (plain values and secretKeyRefs read
back from the API server; only the publisher URL, port and spool dir point at local things); send a delivery signed
like GitHub signs it; print the CloudEvent the publisher receives, whether eventing would route it to the
extension's Subscription (declared in Pulumi.local.yaml), and the stack outputs. Everything listens on
127.0.0.1. `down`: stop the processes, `pulumi destroy`, stop the control plane.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devtools.cluster import controlplane as cp
from devtools.cluster import procs
from devtools.cluster import stack as driver
from devtools.cluster.kubeapi import KubeApi, KubeApiError, wait_for
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
    publisher_port: int
    gateway_port: int

    @classmethod
    def from_env(cls) -> DemoSettings:
        env = os.environ
        return cls(
            run_dir=Path(env.get("KC_DEMO_RUN_DIR", "/tmp/kyma-connectors/demo")),  # noqa: S108
            github_port=int(env.get("KC_DEMO_GITHUB_PORT", "18081")),  # Pulumi.local.yaml's apiUrl uses this port
            publisher_port=int(env.get("KC_DEMO_PUBLISHER_PORT", "18082")),
            gateway_port=int(env.get("KC_DEMO_GATEWAY_PORT", "18080")),
        )


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


def pod_env(api: KubeApi, namespace: str, deployment: dict[str, Any]) -> dict[str, str]:
    """The gateway container's environment as the kubelet would build it: values and secretKeyRefs resolved."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
            continue
        ref = (var.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            secret = api.get(f"/api/v1/namespaces/{namespace}/secrets/{ref['name']}") or {}
            data = (secret.get("data") or {}).get(ref["key"])
            if data is None:
                raise DemoError(f"Secret {namespace}/{ref['name']} has no key {ref['key']!r}")
            env[var["name"]] = base64.b64decode(data).decode()
    return env


def _gateway_deployment(api: KubeApi, namespace: str, connector: str) -> dict[str, Any]:
    for deployment in api.items(f"/apis/apps/v1/namespaces/{namespace}/deployments"):
        labels = deployment["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/name") == "event-gateway" and connector in deployment["metadata"]["name"]:
            return deployment
    raise DemoError(f"no event-gateway Deployment for {connector} in namespace {namespace}")


def sign(secret: str, body: bytes) -> str:
    """GitHub's X-Hub-Signature-256 header value."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def up(settings: DemoSettings) -> None:
    progress = Progress(8)
    progress.step("local control plane (etcd + kube-apiserver, Kyma CRDs)")
    kubeconfig = cp.up(cp.Settings.from_env(), log=Progress.say)

    progress.step(f"GitHub double and eventing publisher double on 127.0.0.1:{settings.github_port}/"
                  f"{settings.publisher_port}")
    stack = driver.select(STACK, REPO, env=_stack_env(kubeconfig))
    connector = _demo_connector(stack)
    token = connector["credentials"]["token"]
    _start(settings, "github", "devtools.doubles.github", ["--port", str(settings.github_port), "--token", token],
           health=f"http://127.0.0.1:{settings.github_port}/_admin/hooks")
    # The double reads the Application from the control plane, as Kyma's proxy does, so the demo shows the subject
    # a Subscription with ``source: <connector name>`` listens on (docs/kyma-contracts.md, "Event source").
    _start(settings, "publisher", "devtools.doubles.publisher",
           ["--port", str(settings.publisher_port), "--kubeconfig", str(kubeconfig)],
           health=f"http://127.0.0.1:{settings.publisher_port}/events")

    progress.step(f"pulumi up --stack {STACK} (real CLI and engine, inline program)")
    log, _ = driver.run("up", stack, quiet=True)
    for op, names in log.by_op().items():
        Progress.say(f"{op}: {len(names)} resources")
    if not log.changed():
        Progress.say("no changes (the stack was already up to date)")
    outputs = driver.outputs(stack)
    mine = outputs.get("connectors", {}).get(connector["name"], {})
    hooks = requests.get(f"http://127.0.0.1:{settings.github_port}/_admin/hooks", timeout=10).json()
    for hook in hooks:
        Progress.say(f"webhook {hook['id']} on {hook['target']}: events {hook['events']} -> {hook['config']['url']}")

    progress.step("event gateway as a local process, with its pod's environment read from the API server")
    configured = stack.get_all_config().get("kyma-connectors:namespace")
    namespace = configured.value if configured else "kyma-connectors"
    with KubeApi.from_kubeconfig(kubeconfig) as api:
        env = pod_env(api, namespace, _gateway_deployment(api, namespace, connector["name"]))
    env |= {"GATEWAY_PUBLISHER_URL": f"http://127.0.0.1:{settings.publisher_port}",
            "GATEWAY_PORT": str(settings.gateway_port), "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_SPOOL_DIR": str(settings.run_dir / "spool")}
    if "GATEWAY_CATALOG" in env and not Path(env["GATEWAY_CATALOG"]).exists():
        del env["GATEWAY_CATALOG"]  # an in-pod path; locally the default (specs/) is the same document
    Progress.say("env: " + ", ".join(sorted(k if "SECRET" not in k else f"{k}=<from Secret>" for k in env)))
    procs.stop(settings.run_dir, "gateway", "kyma_connectors.gateway", Progress.say)  # env may change
    _start(settings, "gateway", "kyma_connectors.gateway", [], env=env,
           health=f"http://127.0.0.1:{settings.gateway_port}/healthz")

    progress.step("a signed GitHub delivery (push) to the gateway's /webhook")
    shared = Path(os.environ.get("KC_SHARED", REPO.parent / "shared"))
    body = (shared / "github" / "payloads" / "push" / "payload.json").read_bytes()
    delivery = str(uuid.uuid4())
    secret = env["GATEWAY_WEBHOOK_SECRETS"].split(",")[0]
    requests.delete(f"http://127.0.0.1:{settings.publisher_port}/events", timeout=10)
    resp = requests.post(f"http://127.0.0.1:{settings.gateway_port}/webhook", data=body, timeout=10, headers={
        "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/kyma-connectors-demo",
        "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sign(secret, body),
        "X-GitHub-Hook-ID": str(next(iter(mine.get("webhookIds", {}).values()), "0")),
    })
    Progress.say(f"delivery {delivery}: HTTP {resp.status_code} {resp.text[:200]}")
    if resp.status_code >= 300:
        raise DemoError(f"the gateway refused the delivery: HTTP {resp.status_code}")

    progress.step("the CloudEvent that reached the eventing publisher")
    events: list[dict[str, Any]] = []

    def arrived() -> bool:
        events[:] = requests.get(f"http://127.0.0.1:{settings.publisher_port}/events", timeout=5).json()
        return bool(events)

    try:
        wait_for(arrived, 30, "the CloudEvent at the publisher double")
    except KubeApiError as exc:
        raise DemoError(f"{exc}; gateway log:\n{procs.log_tail(settings.run_dir, 'gateway')}") from exc
    print(json.dumps(_summarise(events[0]), indent=2), flush=True)

    progress.step("the extension's Subscription, and whether Kyma eventing routes that event to it")
    with KubeApi.from_kubeconfig(kubeconfig) as api:
        print(json.dumps(_routing(api, namespace, connector["name"], events[0]), indent=2), flush=True)

    progress.step("stack outputs")
    print(json.dumps(_shorten(outputs), indent=2, sort_keys=True), flush=True)
    print("\n[demo] running. Processes log to " f"{settings.run_dir}; stop everything with `make demo-down`.")


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
    for name, marker in (("gateway", "kyma_connectors.gateway"), ("publisher", "devtools.doubles.publisher")):
        procs.stop(settings.run_dir, name, marker, say)
    plane = cp.Settings.from_env()
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
    except (DemoError, driver.StackError, cp.ControlPlaneError, KubeApiError) as exc:
        print(f"\n[demo] failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
