"""The environment contract: defaults, validation that names every bad variable, secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from kyma_connectors.gateway.errors import ConfigError
from kyma_connectors.gateway.settings import GenericAuth, Settings, Solution, UnknownEvents

BASE = {
    "GATEWAY_SOLUTION": "github",
    "GATEWAY_APPLICATION": "my-github",
    "GATEWAY_WEBHOOK_SECRETS": "old-secret, new-secret",
}


def test_minimal_environment_gives_documented_defaults() -> None:
    """Three variables suffice; the rest take the defaults docs/event-gateway.md documents."""
    settings = Settings.from_env(BASE)
    assert settings.solution is Solution.GITHUB
    assert settings.application == "my-github"
    assert [s.reveal() for s in settings.secrets] == ["old-secret", "new-secret"]
    assert settings.publisher_url == "http://eventing-publisher-proxy.kyma-system"
    assert settings.port == 8080
    assert settings.spool_dir == Path("/var/spool/event-gateway")
    assert settings.unknown_events is UnknownEvents.PUBLISH
    assert settings.legacy_events is False
    assert settings.catalog_path.parts[-3:] == ("specs", "github", "asyncapi.yaml")
    assert settings.effective_catchall_type == "github.unknown.v1"


def test_every_problem_is_named_at_once() -> None:
    """One start reports each missing or bad variable by name."""
    env = {"GATEWAY_SOLUTION": "gitlab", "GATEWAY_PORT": "http", "GATEWAY_LEGACY_EVENTS": "maybe"}
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    message = str(info.value)
    for name in ("GATEWAY_SOLUTION", "GATEWAY_APPLICATION", "GATEWAY_WEBHOOK_SECRETS", "GATEWAY_PORT",
                 "GATEWAY_LEGACY_EVENTS"):
        assert name in message
    assert len(info.value.problems) == 5


def test_secrets_never_appear_in_repr_or_errors() -> None:
    """Settings print secrets as stars; a bad publisher URL (which may embed credentials) is not echoed."""
    settings = Settings.from_env(BASE)
    assert "old-secret" not in repr(settings)
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**BASE, "GATEWAY_PUBLISHER_URL": "ftp://user:hunter2@host"})
    assert "hunter2" not in str(info.value)


def test_generic_basic_auth_needs_user_password_pairs() -> None:
    env = {**BASE, "GATEWAY_SOLUTION": "generic", "GATEWAY_GENERIC_AUTH": "basic", "GATEWAY_WEBHOOK_SECRETS": "x"}
    with pytest.raises(ConfigError, match="user:password"):
        Settings.from_env(env)
    ok = Settings.from_env({**env, "GATEWAY_WEBHOOK_SECRETS": "svc:pw"})
    assert ok.generic.auth is GenericAuth.BASIC


def test_overrides_are_typed() -> None:
    env = {**BASE, "GATEWAY_PORT": "9000", "GATEWAY_LEGACY_EVENTS": "true", "GATEWAY_UNKNOWN_EVENTS": "catchall",
           "GATEWAY_CATCHALL_TYPE": "github.other.v1", "GATEWAY_PUBLISHER_URL": "http://127.0.0.1:1/"}
    settings = Settings.from_env(env)
    assert (settings.port, settings.legacy_events) == (9000, True)
    assert settings.effective_catchall_type == "github.other.v1"
    assert settings.unknown_events is UnknownEvents.CATCHALL
    assert settings.publisher_url == "http://127.0.0.1:1"
