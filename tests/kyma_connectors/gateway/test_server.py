"""``python -m kyma_connectors.gateway`` at start: a bad environment or catalog exits 2 naming every problem,
no secret shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.timeout(30)


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "kyma_connectors.gateway"], cwd=REPO, env={**clean, **env}, capture_output=True,
        text=True,
        timeout=20, check=False,
    )


def test_bad_environment_exits_2_naming_each_variable() -> None:
    result = run({"GATEWAY_SOLUTION": "gitlab", "GATEWAY_PORT": "99999", "GATEWAY_WEBHOOK_SECRETS": "super-secret"})
    assert result.returncode == 2
    for name in ("GATEWAY_SOLUTION", "GATEWAY_APPLICATION", "GATEWAY_PORT"):
        assert name in result.stderr
    assert "super-secret" not in result.stderr + result.stdout


def test_unusable_catalog_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "asyncapi.yaml"
    broken.write_text("asyncapi: 1.0\nchannels: {}\n")
    result = run({
        "GATEWAY_SOLUTION": "generic", "GATEWAY_APPLICATION": "app", "GATEWAY_WEBHOOK_SECRETS": "s",
        "GATEWAY_CATALOG": str(broken), "GATEWAY_SPOOL_DIR": str(tmp_path / "spool"),
    })
    assert result.returncode == 2
    assert str(broken) in result.stderr
    assert "channels" in result.stderr
