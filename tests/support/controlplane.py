"""A session-scoped local Kubernetes control plane for tests that need a real API server.

What it is: etcd + a version-stamped kube-apiserver on loopback (devtools/cluster/controlplane.py), with the Kyma CRDs
from
../shared/kyma/crds and the `kyma-system` namespace installed. No controllers run: objects are stored and validated
(OpenAPI schema + CEL rules of the CRDs, built-in types' validation) but nothing reconciles them, no pod runs, and
deletes complete at once (garbage collector disabled, so no foreground-deletion finalizer waits).

How to use it: import the fixtures in your test directory's conftest.py (importing them into the test module
itself trips ruff's F811), then mark the tests::

    # tests/registrar/conftest.py
    from tests.support.controlplane import control_plane, kube_api  # noqa: F401  (pytest fixtures)

    # tests/registrar/test_something.py
    @pytest.mark.controlplane
    def test_registers_app(control_plane: Path, kube_api: KubeApi) -> None:
        env = {**os.environ, "KUBECONFIG": str(control_plane)}     # kubeconfig path for clients and subprocesses
        ...
        assert kube_api.get("/apis/applicationconnector.kyma-project.io/v1alpha1/applications/my-app")

`control_plane` yields the kubeconfig path (token user, CA data; server https://127.0.0.1:16543 by default).
`kube_api` is a `devtools.cluster.kubeapi.KubeApi` on it (get/items/create/replace/delete/apply on API paths).

Lifecycle: the plane lives in its own run dir (`KC_TEST_RUN_DIR`, default /tmp/kyma-connectors/test-cp; ports
`KC_TEST_APISERVER_PORT`=16543, `KC_TEST_ETCD_PORT`=23890), separate from the demo's, so a test run never wipes a
demo. A healthy plane there is reused (first start takes ~5-10 s); one the fixture started is stopped at session end
unless `KC_CP_KEEP=1`. The plane is shared state: give objects unique names (e.g. a uuid suffix), and delete them.

When etcd or kube-apiserver is missing (devtools/cluster/toolchain.sh not run yet) the tests are skipped with that
reason;
`make e2e` sets `KC_REQUIRE_CONTROLPLANE=1`, which turns the skip into a failure so CI cannot pass silently.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.cluster import controlplane as cp
from devtools.cluster.kubeapi import KubeApi
from tests.support.paths import REPO

TEST_RUN_DIR = Path("/tmp/kyma-connectors/test-cp")


@dataclass(frozen=True)
class Plane:
    """One control plane a test session may start: its env prefix, run dir and default loopback ports.

    Every plane is listed in PLANES so that two of them started in one pytest session (``make e2e`` starts the e2e
    plane and the RBAC plane together) never ask for the same port; tests/support/test_controlplane.py checks it.
    """

    prefix: str
    run_dir: Path
    apiserver_port: int
    etcd_port: int
    node: bool = False
    """A real node runs with this plane (devtools/cluster/node.py): one such plane per machine."""

    def settings(self, authorization: str | None = None) -> cp.Settings:
        """Settings from the environment (``<prefix>*`` overrides) with this plane's defaults."""
        settings = cp.Settings.from_env(prefix=self.prefix, run_dir=self.run_dir,
                                        apiserver_port=self.apiserver_port, etcd_port=self.etcd_port)
        if self.node:
            settings = dataclasses.replace(settings, node=True)
        return dataclasses.replace(settings, authorization=authorization) if authorization else settings


PLANES: dict[str, Plane] = {
    "test": Plane("KC_TEST_", TEST_RUN_DIR, apiserver_port=16543, etcd_port=23890),
    "e2e": Plane("KC_E2E_", Path("/tmp/kyma-connectors/e2e-cp"), apiserver_port=16643, etcd_port=23990, node=True),
    "rbac": Plane("KC_RBAC_", Path("/tmp/kyma-connectors/rbac-cp"), apiserver_port=16743, etcd_port=24090),
}


def toolchain_bin() -> Path | None:
    """The offline toolchain's bin dir for the pinned versions (whether or not it is built yet)."""
    try:
        out = subprocess.run(["bash", str(REPO / "devtools" / "cluster" / "toolchain.sh"), "--bin-dir"],
                             check=True, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip())


def ensure_binaries_on_path() -> list[str]:
    """Put the toolchain bin dir on PATH; return the names of control-plane binaries still missing."""
    bin_dir = toolchain_bin()
    if bin_dir and bin_dir.is_dir() and str(bin_dir) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    return [name for name in ("etcd", "kube-apiserver") if shutil.which(name) is None]


def skip_or_fail(reason: str) -> None:
    """Skip (fast suite on a machine without the toolchain) or fail (make e2e / CI, KC_REQUIRE_CONTROLPLANE=1)."""
    if os.environ.get("KC_REQUIRE_CONTROLPLANE") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def test_settings() -> cp.Settings:
    return PLANES["test"].settings()


@pytest.fixture(scope="session")
def control_plane() -> Iterator[Path]:
    """Start (or reuse) the test control plane; yield its kubeconfig path."""
    missing = ensure_binaries_on_path()
    if missing:
        skip_or_fail(f"local control plane unavailable: {', '.join(missing)} not found (run make toolchain)")
    settings = test_settings()
    started_here = not cp.status(settings).healthy
    try:
        kubeconfig = cp.up(settings, log=lambda msg: None)
    except cp.ControlPlaneError as exc:
        skip_or_fail(f"local control plane failed to start: {exc}")
        raise  # unreachable: skip_or_fail raises
    yield kubeconfig
    if started_here and os.environ.get("KC_CP_KEEP") != "1":
        cp.down(settings, log=lambda msg: None)


@pytest.fixture(scope="session")
def kube_api(control_plane: Path) -> Iterator[KubeApi]:
    """A REST client on the test control plane (see devtools/cluster/kubeapi.py)."""
    with KubeApi.from_kubeconfig(control_plane) as api:
        yield api
