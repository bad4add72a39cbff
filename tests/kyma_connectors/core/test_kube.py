"""Reaching the API server: kubeconfig users and the in-cluster service account, without leaking key material."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_connectors.core.kube import KubeConfigError, KubeConnection, KubeSession, from_kubeconfig, in_cluster


def _kubeconfig(tmp_path: Path, user: dict[str, Any], cluster: dict[str, Any] | None = None) -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": "dev",
        "clusters": [{"name": "c", "cluster": cluster or {"server": "https://127.0.0.1:6443/",
                                                         "certificate-authority-data": _b64("CA PEM")}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "other", "context": {"cluster": "missing", "user": "u"}},
                     {"name": "dev", "context": {"cluster": "c", "user": "u"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_token_user_with_inline_ca(tmp_path: Path) -> None:
    connection = from_kubeconfig(_kubeconfig(tmp_path, {"token": "abc123"}))

    assert connection.server == "https://127.0.0.1:6443"
    assert connection.token == "abc123"
    assert connection.ca == b"CA PEM"
    assert "abc123" not in repr(connection)


def test_token_file_is_resolved_next_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")

    connection = from_kubeconfig(_kubeconfig(tmp_path, {"tokenFile": "token"}))

    assert connection.token == "from-file"


def test_client_certificate_data_lands_in_private_files_removed_on_close(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path, {"client-certificate-data": _b64("CERT"), "client-key-data": _b64("KEY")})

    session = KubeSession(from_kubeconfig(path))
    assert session.cert is not None
    cert_file, key_file = (Path(p) for p in session.cert)
    assert key_file.read_text() == "KEY"
    assert cert_file.read_text() == "CERT"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Path(str(session.verify)).read_bytes() == b"CA PEM"
    session.close()

    assert not key_file.exists()


def test_insecure_skip_tls_verify(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path, {"token": "t"}, {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True})

    session = KubeSession(from_kubeconfig(path))

    assert session.verify is False
    assert session.headers["Authorization"] == "Bearer t"
    session.close()


def test_exec_plugins_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="exec and auth-provider users are not supported"):
        from_kubeconfig(_kubeconfig(tmp_path, {"exec": {"command": "gke-gcloud-auth-plugin"}}))


def test_current_context_that_does_not_exist(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path, {"token": "t"})
    path.write_text(path.read_text().replace("current-context: dev", "current-context: nope"))

    with pytest.raises(KubeConfigError, match="incomplete current context"):
        from_kubeconfig(path)


def test_in_cluster_service_account(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("sa-token\n")
    (tmp_path / "ca.crt").write_text("CA")

    connection = in_cluster({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}, tmp_path)

    assert connection == KubeConnection(server="https://[fd00::1]:443", token="sa-token", ca=tmp_path / "ca.crt")


def test_in_cluster_without_token_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="cannot read the service account token"):
        in_cluster({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, tmp_path)
