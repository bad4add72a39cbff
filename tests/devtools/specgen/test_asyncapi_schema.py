"""Every shipped AsyncAPI document validates against the official AsyncAPI 2.6.0 JSON Schema (@asyncapi/specs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from devtools.specgen import asyncapi_schema
from devtools.specgen.__main__ import main
from tests.support.paths import SPECS

DOCUMENTS = sorted(SPECS.glob("*/asyncapi.yaml"))

pytestmark = pytest.mark.timeout(60)


def test_the_official_schema_is_installed_and_is_the_2_6_one() -> None:
    """`make venv` installs it; a missing install fails here with the command to run, never skips."""
    schema = asyncapi_schema.official_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema"
    assert schema["properties"]["asyncapi"]["enum"] == ["2.6.0"]


def test_every_solution_ships_a_catalog() -> None:
    assert {p.parent.name for p in DOCUMENTS} >= {"github", "qualtrics", "generic"}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.parent.name)
def test_shipped_document_is_valid_asyncapi_2_6(path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert asyncapi_schema.problems(document) == []


def test_invalid_documents_are_reported_with_their_paths(tmp_path: Path) -> None:
    document = yaml.safe_load((SPECS / "generic" / "asyncapi.yaml").read_text(encoding="utf-8"))
    del document["info"]["version"]
    document["channels"]["webhook.received.v1"]["subscribe"]["message"]["contentType"] = 7
    found = asyncapi_schema.problems(document)
    assert any(p.startswith("info:") and "'version' is a required property" in p for p in found), found
    assert any(p.startswith("channels.webhook.received.v1.subscribe.message") for p in found), found
    assert asyncapi_schema.problems({"asyncapi": "3.0.0"}) == ["asyncapi: expected '2.6.0', got '3.0.0'"]
    broken = tmp_path / "asyncapi.yaml"
    broken.write_text(yaml.safe_dump(document))
    assert main(["validate", str(broken)]) == 1
    assert main(["validate", *map(str, DOCUMENTS)]) == 0


def test_a_missing_install_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(asyncapi_schema.SchemaUnavailableError, match="npm ci --prefix"):
        asyncapi_schema.official_schema(asyncapi_schema.schema_path(tmp_path))
