"""The local cluster's node: the controllers and the node agents that make the API server's workloads real.

With a node, the local cluster is a one-node Kubernetes cluster rather than an API server alone:

- control plane additions: kube-controller-manager (Deployments, ReplicaSets, Jobs, garbage collection,
  service-account tokens, the namespace controller) and kube-scheduler;
- the node: containerd (CRI) with runc (OCI runtime) and the CNI bridge, host-local and loopback plugins, kubelet,
  kube-proxy (iptables mode, so Services answer from the host and from pods) and CoreDNS (cluster DNS, so a pod
  resolves ``eventing-publisher-proxy.kyma-system`` as it would in Kyma).

Network layout (one node per machine, nothing on a public interface): a Linux bridge ``kc-cni0`` carries
10.244.0.1/24; that address is the node's InternalIP, the API server's advertise and bind address, and where
CoreDNS listens. Pods get 10.244.0.x from host-local, Services 10.0.0.0/24 (``kubernetes`` is 10.0.0.1, ``kube-dns``
10.0.0.10, a selector-less Service whose EndpointSlice points at CoreDNS on the bridge address).

Every component authenticates with its own token from the API server's token file, as the user its default RBAC
role binding names (``system:node:kc-node`` in ``system:nodes`` for the Node authorizer, ``system:kube-controller-
manager``, ``system:kube-scheduler``, ``system:kube-proxy``); CoreDNS gets a ClusterRole of its own. Why tokens
and not client certificates: the token file already exists for the admin, and the authorizers see the same users.

This machine is cgroup v1 (hybrid): kubelet 1.35+ refuses cgroup v1 unless its configuration says
``failCgroupV1: false``, which it does here; containerd 2.x still supports cgroup v1. See docs/toolchain.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests
import yaml

from devtools.cluster import images, procs
from devtools.cluster.kubeapi import CONTEXT

NODE_NAME: Final = "kc-node"
BRIDGE: Final = "kc-cni0"
NODE_IP: Final = "10.244.0.1"
POD_CIDR: Final = "10.244.0.0/24"
SERVICE_CIDR: Final = "10.0.0.0/24"
DNS_SERVICE_IP: Final = "10.0.0.10"
CLUSTER_DOMAIN: Final = "cluster.local"
CNI_BIN_DIRS: Final = ("/usr/lib/cni", "/opt/cni/bin")
CONTAINERD_ROOT: Final = Path("/var/lib/kyma-connectors/containerd")
OWNER_FILE: Final = Path("/run/kyma-connectors/node-owner")
"""The run dir of the plane whose node holds this machine's bridge, containerd root and iptables rules."""
"""Outside the run directory on purpose: imported images survive `down`, so the next `up` imports nothing new."""

Log = Callable[[str], None]


class NodeError(procs.ClusterError):
    """The node could not be prepared, started or stopped."""


CONTROLLERS: Final = ("kube-controller-manager", "kube-scheduler")
AGENTS: Final = ("containerd", "kubelet", "kube-proxy", "coredns")
"""Started in this order. Each process's name is its binary's: pid file, log and the marker procs checks."""
STOP_ORDER: Final = ("kubelet", *CONTROLLERS, "kube-proxy", "coredns")
"""kubelet first, so nothing restarts the containers killed next; containerd last, after its shims are gone."""


@dataclass(frozen=True)
class Identity:
    """A token user of the API server's token file (``token,user,uid,groups``)."""

    name: str
    user: str
    groups: str = ""


IDENTITIES: Final = (
    Identity("kubelet", f"system:node:{NODE_NAME}", "system:nodes"),
    Identity("kube-controller-manager", "system:kube-controller-manager"),
    Identity("kube-scheduler", "system:kube-scheduler"),
    Identity("kube-proxy", "system:kube-proxy"),
    Identity("coredns", "system:coredns"),
)


class Paths:
    """Where the node keeps its files inside the control plane's run directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.root = run_dir / "node"

    def kubeconfig(self, identity: str) -> Path:
        return self.root / f"{identity}.kubeconfig"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd" / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd" / "config.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def kubelet_dir(self) -> Path:
        return self.root / "kubelet"


def binary(name: str) -> str:
    """A node binary from PATH (the toolchain's node bin directory)."""
    return procs.require(name, "run `make toolchain`, then `source devtools/cluster/env.sh`")


def token_lines(tokens: dict[str, str]) -> str:
    """Lines for the API server's token file (``token,user,uid[,groups]``), one per identity in ``tokens``."""
    lines = []
    for identity in IDENTITIES:
        fields = [tokens[identity.name], identity.user, identity.user, *([identity.groups] if identity.groups else [])]
        lines.append(",".join(fields) + "\n")
    return "".join(lines)


# --- host network ------------------------------------------------------------------------------------------------


def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def _owner() -> Path | None:
    try:
        return Path(OWNER_FILE.read_text().strip())
    except FileNotFoundError:
        return None


def owns_host(run_dir: Path) -> bool:
    """Whether the plane in `run_dir` may use (or release) the host's node pieces: no other plane's node runs."""
    owner = _owner()
    if owner is None or owner == run_dir:
        return True
    return not any(procs.alive(owner, name, name) for name in AGENTS)


def prepare_host(run_dir: Path, log: Log) -> None:
    """Claim the host for this plane's node; the bridge with the node's address, IP forwarding and bridged traffic
    through iptables (for Services). One node per machine: a second plane asking for one is refused, by name."""
    if os.geteuid() != 0:
        raise NodeError("the node needs root: containerd, kubelet and kube-proxy manage mounts, cgroups and iptables")
    if not owns_host(run_dir):
        raise NodeError(f"the node of the plane in {_owner()} is running (one node per machine): stop that plane "
                        "first (make demo-down, make cluster-down, or python -m devtools.cluster.controlplane down "
                        "with its settings)")
    OWNER_FILE.parent.mkdir(parents=True, exist_ok=True)
    OWNER_FILE.write_text(f"{run_dir}\n")
    if _run(["ip", "link", "show", BRIDGE], check=False).returncode != 0:
        _run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    addresses = _run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE]).stdout
    if f" {NODE_IP}/" not in addresses:
        _run(["ip", "addr", "add", f"{NODE_IP}/24", "dev", BRIDGE])
    _run(["ip", "link", "set", BRIDGE, "up"])
    for key, value in (("net/ipv4/ip_forward", "1"), ("net/bridge/bridge-nf-call-iptables", "1"),
                       ("net/ipv4/conf/all/route_localnet", "1")):
        target = Path("/proc/sys") / key
        if not target.exists():
            raise NodeError(f"kernel setting {key} is missing (bridge netfilter or IP forwarding unavailable)")
        target.write_text(value)
    log(f"bridge {BRIDGE} with {NODE_IP}/24; forwarding and bridge netfilter on")


def release_host(run_dir: Path, log: Log) -> None:
    """Remove the bridge and kube-proxy's iptables rules (the next `up` starts from a clean host), unless another
    plane's node holds them."""
    if not owns_host(run_dir):
        log(f"the host's node belongs to the plane in {_owner()}; left it alone")
        return
    OWNER_FILE.unlink(missing_ok=True)
    if _run(["ip", "link", "show", BRIDGE], check=False).returncode == 0:
        _run(["ip", "link", "del", BRIDGE], check=False)
    with contextlib.suppress(NodeError):
        _run([binary("kube-proxy"), "--cleanup"], check=False)
    log(f"removed {BRIDGE} and kube-proxy's rules")


# --- configuration files -----------------------------------------------------------------------------------------


def containerd_config(paths: Paths) -> str:
    """containerd 2.x configuration (version 3): CRI with runc, overlayfs, the local pause image, our CNI dirs."""
    cri_runtime = "plugins.'io.containerd.cri.v1.runtime'"
    cri_images = "plugins.'io.containerd.cri.v1.images'"
    bin_dirs = ", ".join(f"'{d}'" for d in CNI_BIN_DIRS)
    return f"""version = 3
root = '{CONTAINERD_ROOT}'
state = '{paths.root / "containerd" / "state"}'

[grpc]
  address = '{paths.containerd_socket}'

[{cri_images}]
  snapshotter = 'overlayfs'

[{cri_images}.pinned_images]
  sandbox = '{images.PAUSE_REF}'

[{cri_runtime}]
  enable_selinux = false
  # This VM's root lacks CAP_SYS_RESOURCE (CapEff bit 24 clear), so no process may lower an OOM score: without this,
  # runc fails every sandbox ("failed to update /proc/self/oom_score_adj: Permission denied", kubelet asks -998).
  # containerd's own knob for that case raises such requests to containerd's score instead.
  restrict_oom_score_adj = {"true" if restricted_oom_score() else "false"}

[{cri_runtime}.cni]
  bin_dirs = [{bin_dirs}]
  conf_dir = '{paths.cni_conf_dir}'

[{cri_runtime}.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'

[{cri_runtime}.containerd.runtimes.runc.options]
  BinaryName = '{binary("runc")}'
  SystemdCgroup = false
"""


def restricted_oom_score(status: str | None = None) -> bool:
    """Whether this process lacks CAP_SYS_RESOURCE (it may not lower an OOM score, so neither may runc).
    ``status`` is the text of /proc/self/status (read when None)."""
    text = Path("/proc/self/status").read_text() if status is None else status
    for line in text.splitlines():
        if line.startswith("CapEff:"):
            return not (int(line.split()[1], 16) >> 24) & 1
    return False


def cni_config(paths: Paths) -> dict[str, Any]:
    """The pod network: the bridge (gateway = node address, masquerade out), host-local addresses, portmap."""
    return {
        "cniVersion": "1.0.0",
        "name": "kc",
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": True, "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": str(paths.root / "cni" / "ipam"),
                      "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]], "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(paths: Paths, client_ca: Path) -> dict[str, Any]:
    """KubeletConfiguration for one node on this host (cgroup v1, cgroupfs, no swap check, lenient eviction)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{paths.containerd_socket}",
        "address": NODE_IP,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(client_ca)}},
        "authorization": {"mode": "Webhook"},
        "failSwapOn": False,
        "resolvConf": "/etc/resolv.conf",
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "podPidsLimit": 4096,
        "maxPods": 110,
        "shutdownGracePeriod": "0s",
        "fileCheckFrequency": "5s",
        "nodeStatusUpdateFrequency": "5s",
    }


def kube_proxy_config(paths: Paths) -> dict[str, Any]:
    """KubeProxyConfiguration: iptables mode, loopback health/metrics, no conntrack sysctl changes."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(paths.kubeconfig("kube-proxy"))},
        "hostnameOverride": NODE_NAME,
        "clusterCIDR": POD_CIDR,
        "bindAddress": NODE_IP,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def corefile(paths: Paths) -> str:
    """Cluster DNS on the node address: Services and pods of cluster.local, everything else to the host resolver."""
    return f""".:53 {{
    bind {NODE_IP}
    ready 127.0.0.1:18181
    health 127.0.0.1:18080
    errors
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {paths.kubeconfig("coredns")} {CONTEXT}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    forward . /etc/resolv.conf
    cache 30
    loop
}}
"""


def write_configs(paths: Paths, client_ca: Path) -> None:
    """Every node component's configuration file, under the run directory."""
    (paths.root / "containerd").mkdir(parents=True, exist_ok=True)
    paths.containerd_config.write_text(containerd_config(paths))
    paths.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    (paths.cni_conf_dir / "10-kc.conflist").write_text(json.dumps(cni_config(paths), indent=2))
    (paths.root / "kubelet.yaml").write_text(yaml.safe_dump(kubelet_config(paths, client_ca), sort_keys=False))
    (paths.root / "kube-proxy.yaml").write_text(yaml.safe_dump(kube_proxy_config(paths), sort_keys=False))
    (paths.root / "Corefile").write_text(corefile(paths))


# --- processes ---------------------------------------------------------------------------------------------------


def controller_manager_argv(paths: Paths, sa_key: Path, root_ca: Path) -> list[str]:
    return [
        binary("kube-controller-manager"),
        f"--kubeconfig={paths.kubeconfig('kube-controller-manager')}",
        f"--service-account-private-key-file={sa_key}",
        f"--root-ca-file={root_ca}",
        "--use-service-account-credentials=true",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--bind-address=127.0.0.1", "--secure-port=10257", "--leader-elect=false",
        # Fast enough for tests: a deleted pod's replacement and a finished Job's status show up within seconds.
        "--concurrent-deployment-syncs=5", "--concurrent-gc-syncs=20", "--v=1",
    ]


def scheduler_argv(paths: Paths) -> list[str]:
    return [
        binary("kube-scheduler"),
        f"--kubeconfig={paths.kubeconfig('kube-scheduler')}",
        "--bind-address=127.0.0.1", "--secure-port=10259", "--leader-elect=false", "--v=1",
    ]


def agent_argv(paths: Paths, component: str) -> list[str]:
    if component == "containerd":
        return [binary("containerd"), "--config", str(paths.containerd_config), "--log-level", "warn"]
    if component == "kubelet":
        return [
            binary("kubelet"), f"--config={paths.root / 'kubelet.yaml'}",
            f"--kubeconfig={paths.kubeconfig('kubelet')}", f"--root-dir={paths.kubelet_dir}",
            f"--hostname-override={NODE_NAME}", f"--node-ip={NODE_IP}", "--v=1",
        ]
    if component == "kube-proxy":
        return [binary("kube-proxy"), f"--config={paths.root / 'kube-proxy.yaml'}", "--v=1"]
    if component == "coredns":
        return [binary("coredns"), "-conf", str(paths.root / "Corefile")]
    raise NodeError(f"unknown node component {component!r}")


def node_env() -> dict[str, str]:
    """The agents' environment: containerd finds its shim and runc on PATH; no proxy for cluster traffic."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = f"127.0.0.1,localhost,{NODE_IP},{POD_CIDR},{SERVICE_CIDR}"
    return env


def start_controllers(paths: Paths, sa_key: Path, root_ca: Path, log: Log) -> None:
    env = node_env()
    for name, argv in (("kube-controller-manager", controller_manager_argv(paths, sa_key, root_ca)),
                       ("kube-scheduler", scheduler_argv(paths))):
        proc = procs.spawn(paths.run_dir, name, argv, env=env)
        log(f"{name} pid {proc.pid}")


def start_agents(paths: Paths, log: Log, wait: Callable[[subprocess.Popen[bytes], str, Callable[[], bool]], None],
                 ) -> None:
    """containerd, then kubelet, kube-proxy and CoreDNS, each waited for until it answers."""
    env = node_env()
    probes: dict[str, Callable[[], bool]] = {
        "containerd": paths.containerd_socket.exists,
        "kubelet": lambda: _http_ok("http://127.0.0.1:10248/healthz"),
        "kube-proxy": lambda: _http_ok("http://127.0.0.1:10256/healthz"),
        "coredns": lambda: _http_ok("http://127.0.0.1:18080/health"),
    }
    for name in AGENTS:
        proc = procs.spawn(paths.run_dir, name, agent_argv(paths, name), env=env)
        log(f"{name} pid {proc.pid}")
        wait(proc, name, probes[name])


def _http_ok(url: str) -> bool:
    """A component's loopback health endpoint answers 200 (no proxy: these are this host's ports)."""
    with requests.Session() as session:
        session.trust_env = False
        try:
            return session.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False


def _descendants(pid: int) -> Iterator[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return
    for child in children:
        yield from _descendants(int(child))
        yield int(child)


def _shims(paths: Paths) -> list[int]:
    """containerd-shim processes of our containerd (their command line names our socket)."""
    socket = str(paths.containerd_socket)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and socket.encode() in argv:
            found.append(int(entry.name))
    return found


def stop(paths: Paths, log: Log) -> None:
    """Stop the node: kubelet first (no restarts), then every container and shim, containerd, the rest; unmount."""
    for name in STOP_ORDER:
        procs.stop(paths.run_dir, name, name, log)
    shims = _shims(paths)
    for shim in shims:
        for pid in [*_descendants(shim), shim]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    if shims:
        log(f"killed {len(shims)} container shim(s) and their containers")
    procs.stop(paths.run_dir, "containerd", "containerd", log)
    unmount_below(paths.root)
    if owns_host(paths.run_dir):
        _release_netns()


def _release_netns() -> None:
    """Pod network namespaces containerd left behind when its containers were killed (one node per machine)."""
    netns = Path("/run/netns")
    if not netns.is_dir():
        return
    for entry in netns.glob("cni-*"):
        _run(["umount", "-l", str(entry)], check=False)
        entry.unlink(missing_ok=True)


def unmount_below(root: Path) -> None:
    """Unmount everything mounted below ``root`` (tmpfs secrets, overlay roots, netns), deepest first."""
    prefix = str(root.resolve()) + "/"
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target.startswith(prefix):
            mounts.append(target)
    for target in sorted(mounts, key=len, reverse=True):
        _run(["umount", "-l", target], check=False)


# --- credentials and cluster objects -----------------------------------------------------------------------------


def issue_kubelet_client(pki: Path) -> None:
    """A CA the kubelet trusts and the API server's client certificate under it (``system:masters``), so the API
    server can reach the kubelet for logs and exec. Pods and users never see these."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    later = now + datetime.timedelta(days=30)

    def name(common: str, org: str | None = None) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
        if org:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("kc-kubelet-ca")).issuer_name(name("kc-kubelet-ca"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(later)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("kube-apiserver-kubelet-client", "system:masters"))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(later)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pki.mkdir(parents=True, exist_ok=True)
    (pki / "kubelet-ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (pki / "kubelet-client.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file = pki / "kubelet-client.key"
    key_file.touch(mode=0o600)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


def cluster_objects() -> list[tuple[str, dict[str, Any]]]:
    """What a cluster add-on would install: CoreDNS's read access and the ``kube-dns`` Service pointing at it."""
    return [
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "system:coredns"},
            "rules": [
                {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
                 "verbs": ["list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
            ]}),
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:coredns"}]}),
        ("/api/v1/namespaces/kube-system/services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
            "spec": {"clusterIP": DNS_SERVICE_IP, "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}}),
        ("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kube-dns-node", "namespace": "kube-system",
                         "labels": {"kubernetes.io/service-name": "kube-dns",
                                    "endpointslice.kubernetes.io/managed-by": "kyma-connectors.local"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
            "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                      {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
        }),
    ]


def node_ready(node: dict[str, Any] | None) -> bool:
    conditions = ((node or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
