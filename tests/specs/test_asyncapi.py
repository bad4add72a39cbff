"""Every AsyncAPI document the program ships in specs/ passes the registrar's checks: a shipped spec the Job would
refuse would fail every `pulumi up` with a permanent error. (The OpenAPI documents: tests/specs/test_openapi.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kyma_connectors.registrar.validation import asyncapi_problems
from tests.support.paths import SPECS

ASYNCAPI = sorted(SPECS.glob("*/asyncapi.yaml"))


def test_there_are_shipped_documents() -> None:
    assert ASYNCAPI
    assert {p.parent.name for p in ASYNCAPI} >= {"github", "qualtrics", "generic"}


@pytest.mark.parametrize("path", ASYNCAPI, ids=lambda p: p.parent.name)
def test_shipped_asyncapi_is_registrable(path: Path) -> None:
    assert asyncapi_problems(yaml.safe_load(path.read_text(encoding="utf-8")), path) == []
