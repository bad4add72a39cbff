"""Fixtures for the end-to-end suite: the real Pulumi CLI and engine, a fresh local control plane, the GitHub double.

Every piece is real and local: the CLI and kubernetes provider built by devtools/cluster/toolchain.sh, etcd +
kube-apiserver (devtools/cluster/controlplane.py) with the Kyma CRDs, a file state backend in a temp dir, and the
loopback GitHub double (`python -m devtools.doubles.github`). A missing piece skips the tests that need it with the
reason printed, or fails them
under `make e2e` in CI (`KC_REQUIRE_CONTROLPLANE=1`) when the piece is the toolchain itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.cluster import controlplane as cp
from devtools.cluster.kubeapi import KubeApi
from devtools.doubles import process as doubles
from tests.support.controlplane import PLANES, ensure_binaries_on_path, skip_or_fail
from tests.support.paths import REPO

GITHUB_TOKEN = "ghp_e2e_local_only_token"  # accepted by the double only; not a credential anywhere


def _program_missing() -> str | None:
    """Why the Pulumi program cannot run yet, or None when it is in place."""
    needed = [REPO / "Pulumi.yaml", REPO / "__main__.py"]
    missing = [p.name for p in needed if not p.exists()]
    return f"the Pulumi program is not in the repo yet ({', '.join(missing)} missing)" if missing else None


@pytest.fixture(scope="session")
def toolchain() -> Path:
    """The toolchain on PATH (pulumi, kubernetes provider, etcd, kube-apiserver); its bin dir."""
    missing = ensure_binaries_on_path()
    for name in ("pulumi", "pulumi-resource-kubernetes"):
        if shutil.which(name) is None:
            missing.append(name)
    if missing:
        skip_or_fail(f"offline toolchain incomplete: {', '.join(missing)} not found (run make toolchain)")
    os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    os.environ.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    os.environ["PULUMI_PYTHON_CMD"] = sys.executable
    if str(REPO) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    pulumi = shutil.which("pulumi")
    assert pulumi is not None
    return Path(pulumi).parent


@pytest.fixture(scope="session")
def e2e_plane(toolchain: Path) -> Iterator[Path]:
    """A fresh control plane for this session (own run dir and ports); torn down afterwards. Yields kubeconfig."""
    settings = PLANES["e2e"].settings()
    cp.down(settings, log=lambda _: None)
    try:
        kubeconfig = cp.up(settings)
    except cp.ControlPlaneError as exc:
        skip_or_fail(f"local control plane failed to start: {exc}")
        raise
    yield kubeconfig
    if os.environ.get("KC_CP_KEEP") != "1":
        cp.down(settings)


@pytest.fixture(scope="session")
def e2e_api(e2e_plane: Path) -> Iterator[KubeApi]:
    with KubeApi.from_kubeconfig(e2e_plane) as api:
        yield api


@dataclass(frozen=True)
class GitHubDoubleProcess:
    """The GitHub double running as its own process (as an operator would run it), with its base URL and token."""

    url: str
    token: str
    process: subprocess.Popen[str]


@pytest.fixture(scope="session")
def github_double() -> Iterator[GitHubDoubleProcess]:
    if not (REPO / "devtools" / "doubles" / "github" / "__main__.py").exists():
        pytest.skip("the GitHub double (devtools/doubles/github) is not in the repo yet")
    try:
        with doubles.running("devtools.doubles.github", "--port", "0", "--token", GITHUB_TOKEN) as double:
            yield GitHubDoubleProcess(url=double.url, token=GITHUB_TOKEN, process=double.process)
    except doubles.DoubleStartError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def program_ready() -> None:
    reason = _program_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh file state backend for the session."""
    return tmp_path_factory.mktemp("pulumi-state")


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """Remember the first failed phase of an ordered test class (`incremental = True`)."""
    cls = getattr(item, "cls", None)
    expected_failure = item.get_closest_marker("xfail") is not None
    if cls is not None and getattr(cls, "incremental", False) and call.excinfo is not None \
            and not expected_failure and not call.excinfo.errisinstance(pytest.skip.Exception):
        cls._failed_phase = item.name


def pytest_runtest_setup(item: pytest.Item) -> None:
    cls = getattr(item, "cls", None)
    failed = getattr(cls, "_failed_phase", None) if cls is not None else None
    if failed:
        pytest.skip(f"an earlier phase failed ({failed})")
