"""Validate AsyncAPI documents against the official AsyncAPI 2.6.0 JSON Schema.

The schema is the AsyncAPI Initiative's own (``@asyncapi/specs``, Apache-2.0, ``schemas/2.6.0-without-$id.json``:
the variant whose ``$ref``s resolve inside the file), installed by ``make venv`` with ``npm ci`` from the pinned
``devtools/specgen/package-lock.json`` into ``devtools/specgen/node_modules``. Nothing is copied into this
repository; a missing install is an error that says how to get it, never a silent pass.

Why on top of the catalog loader: the loader checks what this project needs (channel names are clean CloudEvents
types, every message maps a native event); this checks that the document is AsyncAPI at all, so Kyma's tooling and
any AsyncAPI viewer can read what the Application registers.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Final

import jsonschema

SPECGEN_DIR: Final[Path] = Path(__file__).resolve().parent
PACKAGE: Final[str] = "@asyncapi/specs"
SCHEMA_FILE: Final[str] = "schemas/2.6.0-without-$id.json"
VERSION: Final[str] = "2.6.0"


class SchemaUnavailableError(RuntimeError):
    """The official schema is not installed (``make venv`` runs ``npm ci`` in devtools/specgen)."""


def schema_path(root: Path = SPECGEN_DIR) -> Path:
    return root / "node_modules" / PACKAGE / SCHEMA_FILE


@cache
def official_schema(path: Path | None = None) -> dict[str, Any]:
    """The AsyncAPI 2.6.0 JSON Schema from the pinned npm package."""
    where = path or schema_path()
    if not where.is_file():
        raise SchemaUnavailableError(
            f"{where} is missing: install it with `npm ci --prefix {SPECGEN_DIR}` (part of `make venv`)"
        )
    loaded = json.loads(where.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise SchemaUnavailableError(f"{where}: not a JSON Schema")
    return loaded


def problems(document: Any, *, schema: dict[str, Any] | None = None) -> list[str]:
    """Every way ``document`` (parsed YAML/JSON) breaks the AsyncAPI 2.6.0 schema, each with its JSON path."""
    if not isinstance(document, dict) or str(document.get("asyncapi")) != VERSION:
        got = document.get("asyncapi") if isinstance(document, dict) else type(document).__name__
        return [f"asyncapi: expected {VERSION!r}, got {got!r}"]
    validator = jsonschema.Draft7Validator(schema or official_schema())
    found = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(part) for part in error.absolute_path) or "(document)"
        found.append(f"{where}: {_best(error).message}")
    return found


def _best(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most specific cause of a ``oneOf``/``anyOf`` failure (the schema nests Reference-or-Object choices)."""
    return jsonschema.exceptions.best_match([error, *error.context]) if error.context else error
