"""The reconciler's environment: every problem named at once; credentials read from the mounted files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kyma_connectors.core.eventing import Backend
from kyma_connectors.reconciler.errors import SettingsError
from kyma_connectors.reconciler.settings import from_env


def env(**changes: str) -> dict[str, str]:
    base = {"RECONCILER_APPLICATION": "github-acme", "RECONCILER_SOLUTION": "github",
            "RECONCILER_SOURCE": "github-acme", "RECONCILER_API_URL": "https://api.github.com/",
            "RECONCILER_TARGETS": "acme/widgets, org:acme", "RECONCILER_WEBHOOK_URL": "https://h.example/webhook"}
    return {k: v for k, v in {**base, **changes}.items() if v != ""}


def test_a_complete_environment() -> None:
    settings = from_env(env(RECONCILER_BACKEND="eventmesh", RECONCILER_DEBOUNCE_SECONDS="0.5"))
    assert settings.targets == ("acme/widgets", "org:acme")
    assert settings.api_url == "https://api.github.com"
    assert (settings.backend, settings.debounce, settings.port) == (Backend.EVENTMESH, 0.5, 8080)


def test_every_problem_at_once() -> None:
    with pytest.raises(SettingsError) as failure:
        from_env(env(RECONCILER_SOURCE="", RECONCILER_TARGETS="not a target", RECONCILER_BACKEND="kafka",
                      RECONCILER_DEBOUNCE_SECONDS="soon", RECONCILER_STATUS_CONFIGMAP="status"))
    message = str(failure.value)
    for fragment in ("RECONCILER_SOURCE: required", "RECONCILER_TARGETS: 'not a target' is not owner/repo",
                     "RECONCILER_BACKEND: expected one of", "RECONCILER_DEBOUNCE_SECONDS: expected",
                     "RECONCILER_NAMESPACE: required with RECONCILER_STATUS_CONFIGMAP"):
        assert fragment in message


def test_credentials_come_from_files_and_are_never_shown(tmp_path: Path) -> None:
    settings = from_env(env(RECONCILER_CREDENTIALS_DIR=str(tmp_path)))
    with pytest.raises(SettingsError, match="holds neither token"):
        settings.credentials()
    (tmp_path / "token").write_text("ghp_secret_value\n")
    creds = settings.credentials()
    assert creds.token == "ghp_secret_value"
    assert "ghp_secret_value" not in repr(creds)


def test_qualtrics_needs_the_shared_key(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("q-token")
    settings = from_env(env(RECONCILER_SOLUTION="qualtrics", RECONCILER_TARGETS="",
                            RECONCILER_CREDENTIALS_DIR=str(tmp_path)))
    assert settings.targets == ("",)
    with pytest.raises(SettingsError, match="webhook-secret: required for Qualtrics"):
        settings.credentials()
