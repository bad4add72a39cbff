"""The local control plane: etcd + kube-apiserver with the Kyma CRDs and `kyma-system`, optionally a real node.

Why this shape: `pulumi up` must be proven against a real API server (CRD validation, server-side defaults,
resource versions), but CI has no container engine and no cluster provider. Without a node (the default), etcd and a
version-stamped kube-apiserver on loopback are the only processes: no controllers, no garbage collector
(`--enable-garbage-collector=false` keeps Foreground deletes from hanging on a finalizer nobody removes), and
workloads never run: it serves the tests that need an API server alone. With `<prefix>NODE=1` the plane also runs
controllers, a scheduler and a node (devtools/cluster/node.py), loads the images built from the project's
Dockerfiles (devtools/cluster/images.py) and the publisher double as a pod (devtools/cluster/addons.py): Deployments,
Jobs, garbage collection and cluster DNS are then real, and authorization is Node,RBAC.

State lives in one run directory (`KC_RUN_DIR`, default /tmp/kyma-connectors/cp): pid files, logs, etcd data,
the serving certificate, a token file and the generated kubeconfig. `up` is idempotent (reuses a healthy plane),
`down` stops only the processes whose pids it recorded and wipes the state, so the next `up` is fresh.

    python -m devtools.cluster.controlplane up|down|status      (`make cluster-up` runs this with the toolchain on PATH)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.cluster import addons, images, node, procs
from devtools.cluster.kubeapi import KubeApi, KubeApiError, KubeConfig, load_manifests, wait_for

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RUN_DIR = Path("/tmp/kyma-connectors/cp")  # noqa: S108 - a per-machine, well-known place by design
NAMESPACES = ("kyma-system",)


class ControlPlaneError(procs.ClusterError):
    """The control plane could not be started, reached or stopped."""


@dataclass(frozen=True)
class Settings:
    """Where the control plane keeps its state and which loopback ports it uses (overridable by env vars)."""

    run_dir: Path
    etcd_port: int
    etcd_peer_port: int
    apiserver_port: int
    crds_dir: Path
    prefix: str = "KC_"
    authorization: str = "AlwaysAllow"
    """``--authorization-mode``: ``RBAC`` makes the plane enforce Roles (least-privilege tests); the admin token is in
    ``system:masters`` either way. A plane with a node always runs ``Node,RBAC``."""
    node: bool = False
    """Run a real node too (devtools/cluster/node.py): controllers, scheduler, containerd, kubelet, kube-proxy, DNS.
    One per machine; the API server then listens on the node's bridge address instead of loopback."""

    @classmethod
    def from_env(
        cls,
        prefix: str = "KC_",
        run_dir: Path = DEFAULT_RUN_DIR,
        apiserver_port: int = 16443,
        etcd_port: int = 23790,
    ) -> Settings:
        """Settings from `<prefix>RUN_DIR`, `<prefix>APISERVER_PORT`, `<prefix>ETCD_PORT`, `<prefix>ETCD_PEER_PORT`.

        Separate prefixes give the demo (KC_), the test fixture (KC_TEST_) and e2e (KC_E2E_) their own planes,
        so a test run never wipes the demo's state. The CRDs come from `KC_CRDS` or `$KC_SHARED/kyma/crds`.
        """
        env = os.environ
        shared = Path(env.get("KC_SHARED", REPO.parent / "shared"))
        etcd_port = int(env.get(f"{prefix}ETCD_PORT", etcd_port))
        return cls(
            prefix=prefix,
            run_dir=Path(env.get(f"{prefix}RUN_DIR", run_dir)),
            etcd_port=etcd_port,
            etcd_peer_port=int(env.get(f"{prefix}ETCD_PEER_PORT", etcd_port + 10)),
            apiserver_port=int(env.get(f"{prefix}APISERVER_PORT", apiserver_port)),
            crds_dir=Path(env.get("KC_CRDS", shared / "kyma" / "crds")),
            authorization=env.get(f"{prefix}AUTHORIZATION_MODE", "AlwaysAllow"),
            node=env.get(f"{prefix}NODE", "") in ("1", "true", "yes"),
        )

    @property
    def kubeconfig(self) -> Path:
        return self.run_dir / "kubeconfig"

    @property
    def host(self) -> str:
        """Where the API server listens: loopback, or the node's bridge address (pods reach it there)."""
        return node.NODE_IP if self.node else "127.0.0.1"

    @property
    def server(self) -> str:
        return f"https://{self.host}:{self.apiserver_port}"

    @property
    def authorization_mode(self) -> str:
        return "Node,RBAC" if self.node else self.authorization

    def log_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    @property
    def ready_marker(self) -> Path:
        """Written last by `up`: a plane without it was interrupted before its CRDs or namespaces were in place."""
        return self.run_dir / "ready"


@dataclass(frozen=True)
class Status:
    """What `status` found: which recorded processes are alive and whether the API server is ready."""

    etcd_pid: int | None
    apiserver_pid: int | None
    ready: bool

    @property
    def healthy(self) -> bool:
        return self.etcd_pid is not None and self.apiserver_pid is not None and self.ready


Log = Callable[[str], None]


def _say(message: str) -> None:
    print(f"[controlplane] {message}", flush=True)


def _binary(name: str) -> str:
    return procs.require(name, "run devtools/cluster/toolchain.sh, then `source devtools/cluster/env.sh`")


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """Serialise up/down across processes (two pytest sessions may want the same plane at once)."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with (settings.run_dir.parent / f".{settings.run_dir.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prepare_files(settings: Settings) -> str:
    """Token file and service-account key; returns the admin token (kept in the run dir, mode 0600)."""
    run = settings.run_dir
    (run / "pki").mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(24)
    tokens = run / "tokens.csv"
    tokens.touch(mode=0o600)
    lines = f"{token},admin,admin,system:masters\n"
    if settings.node:
        node_tokens = {identity.name: secrets.token_hex(24) for identity in node.IDENTITIES}
        (run / "node-tokens.json").touch(mode=0o600)
        (run / "node-tokens.json").write_text(json.dumps(node_tokens))
        lines += node.token_lines(node_tokens)
    tokens.write_text(lines)
    sa_key = run / "sa.key"
    if not sa_key.exists():
        sa_key.touch(mode=0o600)
        sa_key.write_bytes(_service_account_key())
    return token


def _service_account_key() -> bytes:
    """A fresh RSA key (PEM) for signing service-account tokens; `cryptography` is a runtime dependency already."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _etcd_argv(settings: Settings) -> list[str]:
    client = f"http://127.0.0.1:{settings.etcd_port}"
    peer = f"http://127.0.0.1:{settings.etcd_peer_port}"
    return [
        _binary("etcd"), "--name", "kc", "--data-dir", str(settings.run_dir / "etcd"),
        "--listen-client-urls", client, "--advertise-client-urls", client,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", f"kc={peer}", "--log-level", "warn",
    ]


def _apiserver_argv(settings: Settings) -> list[str]:
    run, port, host = settings.run_dir, settings.apiserver_port, settings.host
    argv = [
        _binary("kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{settings.etcd_port}",
        f"--cert-dir={run / 'pki'}",
        f"--secure-port={port}", f"--bind-address={host}", f"--advertise-address={host}",
        f"--service-cluster-ip-range={node.SERVICE_CIDR}",
        f"--service-account-issuer=https://{host}:{port}/",
        f"--service-account-key-file={run / 'sa.key'}",
        f"--service-account-signing-key-file={run / 'sa.key'}",
        f"--authorization-mode={settings.authorization_mode}", f"--token-auth-file={run / 'tokens.csv'}",
        "--allow-privileged=true", "--enable-priority-and-fairness=false", "--profiling=false", "--v=1",
    ]
    if settings.node:
        # Controllers run: garbage collection, service-account tokens in pods and the kubernetes Service's endpoint
        # are real; NodeRestriction limits the kubelet to its own node and pods, as in any conformant cluster.
        return [*argv, "--enable-admission-plugins=NodeRestriction", "--endpoint-reconciler-type=lease",
                f"--kubelet-client-certificate={run / 'pki' / 'kubelet-client.crt'}",
                f"--kubelet-client-key={run / 'pki' / 'kubelet-client.key'}",
                "--kubelet-preferred-address-types=InternalIP"]
    # No controllers run here: without this, every Foreground delete waits for a GC that never comes.
    return [*argv, "--disable-admission-plugins=ServiceAccount", "--enable-garbage-collector=false",
            "--endpoint-reconciler-type=none"]


def _write_kubeconfig(settings: Settings, token: str) -> None:
    """A token kubeconfig trusting the apiserver's self-signed serving certificate (its file holds cert + CA)."""
    ca_pem = (settings.run_dir / "pki" / "apiserver.crt").read_bytes()
    KubeConfig(settings.server, token, ca_pem).write(settings.kubeconfig)


def crd_established(crd: dict[str, Any] | None) -> bool:
    """Whether a CRD object reports ``Established``; right after creation the API server may answer without
    ``status`` or with ``conditions: null``, which means not yet."""
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _install_crds(api: KubeApi, crds_dir: Path, log: Log) -> None:
    if not crds_dir.is_dir():
        raise ControlPlaneError(f"CRD directory {crds_dir} not found (set KC_SHARED or KC_CRDS)")
    collection = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    names: list[str] = []
    for path in sorted(crds_dir.glob("*.yaml")):
        for doc in load_manifests(path):
            if doc.get("kind") == "CustomResourceDefinition":
                api.apply(collection, doc)
                names.append(doc["metadata"]["name"])

    for name in names:
        wait_for(lambda n=name: crd_established(api.get(f"{collection}/{n}")), 60,  # type: ignore[misc]
                 f"CRD {name} to be Established")
    log(f"CRDs established: {', '.join(names)}")


def _install_namespaces(api: KubeApi, log: Log) -> None:
    for ns in NAMESPACES:
        api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    log(f"namespaces present: {', '.join(NAMESPACES)}")


def status(settings: Settings) -> Status:
    etcd = procs.alive(settings.run_dir, "etcd", "etcd")
    apiserver = procs.alive(settings.run_dir, "kube-apiserver", "kube-apiserver")
    ready = False
    node_down = settings.node and not all(procs.alive(settings.run_dir, name, name)
                                          for name in (*node.CONTROLLERS, *node.AGENTS))
    if apiserver and not node_down and settings.kubeconfig.exists() and settings.ready_marker.exists():
        with KubeApi(KubeConfig.load(settings.kubeconfig), timeout=3) as api:
            ready = api.ready()
    return Status(etcd, apiserver, ready)


def up(settings: Settings, timeout: float = 120.0, log: Log = _say) -> Path:
    """Start (or reuse) the control plane; return the kubeconfig path once CRDs and namespaces are in place."""
    with _locked(settings):
        current = status(settings)
        if current.healthy:
            log(f"already running at {settings.server} (kubeconfig {settings.kubeconfig})")
            return settings.kubeconfig
        _stop_processes(settings, log)
        _wipe(settings)
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        if settings.node:
            node.prepare_host(settings.run_dir, log)
        for port, host in ((settings.etcd_port, "127.0.0.1"), (settings.etcd_peer_port, "127.0.0.1"),
                           (settings.apiserver_port, settings.host)):
            if not _port_free(port, host):
                p = settings.prefix
                raise ControlPlaneError(f"port {host}:{port} is taken; set {p}ETCD_PORT/{p}ETCD_PEER_PORT/"
                                        f"{p}APISERVER_PORT to free ports")
        started = time.monotonic()
        try:
            _start(settings, timeout, log)
        except BaseException:
            _stop_processes(settings, log)  # leave nothing half-started behind
            raise
        log(f"up in {time.monotonic() - started:.1f}s; export KUBECONFIG={settings.kubeconfig}")
        return settings.kubeconfig


def _start(settings: Settings, timeout: float, log: Log) -> None:
    """Spawn etcd, then kube-apiserver; write the kubeconfig; install CRDs and namespaces."""
    started = time.monotonic()
    token = _prepare_files(settings)
    if settings.node:
        node.issue_kubelet_client(settings.run_dir / "pki")
    etcd = procs.spawn(settings.run_dir, "etcd", _etcd_argv(settings))
    log(f"etcd pid {etcd.pid} on 127.0.0.1:{settings.etcd_port}")
    _wait_process(settings, etcd, "etcd", lambda: _tcp_open(settings.etcd_port), timeout)
    apiserver = procs.spawn(settings.run_dir, "kube-apiserver", _apiserver_argv(settings))
    log(f"kube-apiserver pid {apiserver.pid} on {settings.server}")
    _wait_process(settings, apiserver, "kube-apiserver",
                  lambda: (settings.run_dir / "pki" / "apiserver.crt").exists() and _tcp_open(
                      settings.apiserver_port, settings.host), timeout)
    _write_kubeconfig(settings, token)
    with KubeApi.from_kubeconfig(settings.kubeconfig) as api:
        _wait_process(settings, apiserver, "kube-apiserver", api.ready, timeout)
        log(f"API server ready after {time.monotonic() - started:.1f}s")
        _install_crds(api, settings.crds_dir, log)
        _install_namespaces(api, log)
        if settings.node:
            _start_node(settings, api, timeout, log)
    settings.ready_marker.write_text(f"{settings.server}\n")


def _start_node(settings: Settings, api: KubeApi, timeout: float, log: Log) -> None:
    """Controllers, scheduler and node agents; the sandbox and connector images into containerd; wait for Ready."""
    started = time.monotonic()
    run, paths = settings.run_dir, node.Paths(settings.run_dir)
    tokens = json.loads((run / "node-tokens.json").read_text())
    ca_pem = (run / "pki" / "apiserver.crt").read_bytes()
    for identity in node.IDENTITIES:
        KubeConfig(settings.server, tokens[identity.name], ca_pem).write(paths.kubeconfig(identity.name),
                                                                          user=identity.user)
    node.write_configs(paths, run / "pki" / "kubelet-ca.crt")
    for collection, body in node.cluster_objects():
        api.apply(collection, body)
    node.start_controllers(paths, run / "sa.key", run / "pki" / "apiserver.crt", log)
    node.start_agents(paths, log, lambda proc, name, probe: _wait_process(settings, proc, name, probe, timeout))
    ctr = [_binary("ctr"), "--address", str(paths.containerd_socket)]
    images.import_into(ctr, images.build_pause(log), images.PAUSE_REF, log)
    for name, image in images.IMAGES.items():
        images.import_into(ctr, images.build(image, log), images.cluster_ref(name), log)
    try:
        wait_for(lambda: node.node_ready(api.get(f"/api/v1/nodes/{node.NODE_NAME}")), timeout,
                 f"node {node.NODE_NAME} to be Ready")
    except KubeApiError as exc:
        raise ControlPlaneError(f"{exc}; kubelet log:\n{procs.log_tail(run, 'kubelet')}") from exc
    log(f"node {node.NODE_NAME} Ready after {time.monotonic() - started:.1f}s")
    try:
        addons.install_publisher(api, images.cluster_ref("publisher-double"), timeout)
    except KubeApiError as exc:
        raise ControlPlaneError(f"{exc}; kubelet log:\n{procs.log_tail(run, 'kubelet')}") from exc
    log(f"{addons.NAMESPACE}/{addons.NAME} Available (the publisher double as a pod) after "
        f"{time.monotonic() - started:.1f}s")


def _wait_process(settings: Settings, proc: subprocess.Popen[bytes], name: str, predicate: Callable[[], bool],
                  timeout: float) -> None:
    """Wait for `predicate`, failing fast (with the log tail) if the process died meanwhile."""

    def check() -> bool:
        if proc.poll() is not None:
            raise ControlPlaneError(f"{name} exited during start-up; last log lines:\n"
                                    + procs.log_tail(settings.run_dir, name))
        return predicate()

    try:
        wait_for(check, timeout, f"{name} to become ready")
    except KubeApiError as exc:
        raise ControlPlaneError(f"{exc} (log: {settings.log_file(name)})") from exc


def _stop_processes(settings: Settings, log: Log) -> None:
    if settings.node or (settings.run_dir / "node").is_dir():
        node.stop(node.Paths(settings.run_dir), log)
    for name in ("kube-apiserver", "etcd"):
        procs.stop(settings.run_dir, name, name, log)


def _wipe(settings: Settings) -> None:
    if settings.run_dir.is_dir():
        shutil.rmtree(settings.run_dir)


def down(settings: Settings, log: Log = _say) -> None:
    """Stop the recorded processes and remove the run directory (etcd data included)."""
    with _locked(settings):
        _stop_processes(settings, log)
        _wipe(settings)
        if settings.node:
            node.release_host(settings.run_dir, log)
    log(f"down; removed {settings.run_dir}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="controlplane", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status", "kubeconfig"])
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.action == "up":
            up(settings, args.timeout)
        elif args.action == "down":
            down(settings)
        elif args.action == "kubeconfig":
            print(settings.kubeconfig)
        else:
            found = status(settings)
            print(f"etcd: {found.etcd_pid or 'not running'}  kube-apiserver: {found.apiserver_pid or 'not running'}"
                  f"  ready: {found.ready}  server: {settings.server}  kubeconfig: {settings.kubeconfig}")
            return 0 if found.healthy else 3
    except (procs.ClusterError, KubeApiError, subprocess.CalledProcessError) as exc:
        print(f"[controlplane] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
