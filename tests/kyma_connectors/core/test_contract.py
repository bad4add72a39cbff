"""The program and the services agree: every variable the EventGateway component writes is one the gateway reads,
and the registration Job's mounts and exit codes are the registrar's."""

from __future__ import annotations

from pathlib import Path

import pytest

from kyma_connectors.core import contract
from kyma_connectors.gateway.errors import ConfigError
from kyma_connectors.gateway.settings import Settings
from kyma_connectors.registrar import errors as registrar_errors
from kyma_connectors.registrar import settings as registrar_settings


@pytest.mark.parametrize("name", sorted(contract.GATEWAY_WRITTEN_BY_PROGRAM - {contract.GATEWAY_WEBHOOK_SECRETS,
                                                                              contract.GATEWAY_SPOOL_DIR,
                                                                              contract.GATEWAY_CATALOG}))
def test_the_gateway_reads_every_variable_the_program_writes(name: str, tmp_path: Path) -> None:
    env = {contract.GATEWAY_SOLUTION: "github", contract.GATEWAY_APPLICATION: "app",
           contract.GATEWAY_WEBHOOK_SECRETS: "s", contract.GATEWAY_SPOOL_DIR: str(tmp_path), name: "\x00bad\x00"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert name in [problem.path for problem in caught.value.problems]


def test_the_gateway_defaults_are_the_mounts_the_program_uses() -> None:
    assert Settings.spool_dir == Path(contract.GATEWAY_SPOOL_MOUNT)
    assert Settings.port == contract.GATEWAY_HTTP_PORT


def test_the_registrar_reads_what_the_job_mounts_and_exits_as_the_job_expects() -> None:
    assert Path(contract.REGISTRAR_CREDENTIALS_MOUNT) == registrar_settings.DEFAULT_CREDENTIALS_DIR
    assert {contract.REGISTRAR_BACKEND, contract.REGISTRAR_SPECS_DIR} <= registrar_settings.ENVIRONMENT
    assert registrar_errors.SpecError.exit_code == contract.EXIT_PERMANENT
    assert registrar_errors.TransientError.exit_code == contract.EXIT_TRANSIENT
