"""The shipped OpenAPI documents: valid, self-contained (the registrar accepts them) and sized as a reviewed subset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_connectors.registrar.validation import openapi_problems
from tests.support.paths import SPECS

pytestmark = pytest.mark.timeout(60)

DOCUMENTS = sorted(SPECS.glob("*/openapi.yaml"))
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_github_and_qualtrics_ship_an_openapi_document() -> None:
    assert {p.parent.name for p in DOCUMENTS} >= {"github", "qualtrics"}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.parent.name)
def test_document_passes_the_registrars_validation(path: Path) -> None:
    assert openapi_problems(_load(path)) == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.parent.name)
def test_operations_have_unique_ids_and_documented_errors(path: Path) -> None:
    """Client generators need unique operationIds; workloads need to know the failure answers, not only 2xx."""
    operations = [(route, method, op) for route, item in _load(path)["paths"].items()
                  for method, op in item.items() if method in METHODS]
    assert operations
    ids = [op["operationId"] for _, _, op in operations]
    assert len(ids) == len(set(ids))
    for route, method, op in operations:
        codes = set(op["responses"])
        assert any(code.startswith("2") for code in codes), f"{method} {route}: no success response"
        assert any(code.startswith(("4", "5")) for code in codes), f"{method} {route}: no error response"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.parent.name)
def test_header_cites_its_sources(path: Path) -> None:
    header = path.read_text(encoding="utf-8").split("\nopenapi:", 1)[0]
    assert "Sources" in header
    assert "Central Application Gateway" in header
