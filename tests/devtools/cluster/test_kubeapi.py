"""The tooling's kubeconfig files and the in-cluster view a pod of the local cluster uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.cluster.kubeapi import KubeApiError, KubeConfig


def test_written_kubeconfig_loads_back_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "kubeconfig"
    KubeConfig("https://10.244.0.1:6443", "t0ken", b"-----BEGIN CERTIFICATE-----\n").write(path, user="system:x")
    assert KubeConfig.load(path) == KubeConfig("https://10.244.0.1:6443", "t0ken", b"-----BEGIN CERTIFICATE-----\n")
    assert path.stat().st_mode & 0o777 == 0o600
    assert not path.with_suffix(".tmp").exists()


def test_in_cluster_reads_the_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("sa-token\n")
    (tmp_path / "ca.crt").write_bytes(b"CA")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert KubeConfig.in_cluster(tmp_path) == KubeConfig("https://10.0.0.1:443", "sa-token", b"CA")


def test_in_cluster_outside_a_pod_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeApiError, match="not in a pod"):
        KubeConfig.in_cluster(tmp_path)
