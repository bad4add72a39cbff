"""Settings are read once at start; every problem is reported together, with the permanent exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from kyma_connectors.registrar.errors import EXIT_PERMANENT, SettingsError
from kyma_connectors.registrar.settings import Backend, Settings
from tests.kyma_connectors.registrar.conftest import invoke


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"REGISTRAR_APPLICATION": "github-acme", "REGISTRAR_SPECS_DIR": str(tmp_path),
            "KUBERNETES_SERVICE_HOST": "10.0.0.1", **extra}


def test_defaults_to_the_application_cr_backend(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(tmp_path))

    assert settings.backend is Backend.APPLICATION_CR
    assert settings.application == "github-acme"
    assert settings.specs_dir == tmp_path
    assert settings.wait_seconds == 60.0


def test_registry_backend_needs_a_registry_url(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="REGISTRAR_REGISTRY_URL: required"):
        Settings.from_env(_env(tmp_path, REGISTRAR_BACKEND="application-registry"))


def test_registry_url_is_normalised(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(tmp_path, REGISTRAR_BACKEND="application-registry",
                                      REGISTRAR_REGISTRY_URL="http://registry:8081/"))
    assert settings.registry_url == "http://registry:8081"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    env = {"REGISTRAR_BACKEND": "compass", "REGISTRAR_APPLICATION": "Not_Valid",
           "REGISTRAR_SPECS_DIR": str(tmp_path / "missing"), "REGISTRAR_WAIT_SECONDS": "-1"}

    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)

    assert [problem.path for problem in caught.value.problems] == [
        "REGISTRAR_BACKEND", "REGISTRAR_APPLICATION", "REGISTRAR_SPECS_DIR", "KUBECONFIG", "REGISTRAR_WAIT_SECONDS"]
    message = str(caught.value)
    for fragment in ("REGISTRAR_BACKEND: expected one of application-cr | application-registry, got 'compass'",
                     "REGISTRAR_APPLICATION: expected the Kyma Application name", "'Not_Valid'",
                     f"REGISTRAR_SPECS_DIR: {tmp_path / 'missing'} is not a directory",
                     "REGISTRAR_WAIT_SECONDS: expected a number of seconds in (0, 86400), got '-1'"):
        assert fragment in message


def test_application_cr_backend_needs_cluster_credentials(tmp_path: Path) -> None:
    env = _env(tmp_path)
    del env["KUBERNETES_SERVICE_HOST"]

    with pytest.raises(SettingsError, match="KUBECONFIG: not set and not running in a cluster"):
        Settings.from_env(env)


def test_bad_settings_exit_permanently_with_one_line(tmp_path: Path) -> None:
    result = invoke({"REGISTRAR_SPECS_DIR": str(tmp_path)})

    assert result.code == EXIT_PERMANENT
    assert result.stderr.startswith("registrar: permanent: REGISTRAR_APPLICATION: required")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.lines == []
