"""Checks a spec document must pass before anything is registered: OpenAPI, OData (EDMX) and AsyncAPI.

Why here and not at the target: Kyma's Application CR accepts any ``specificationUrl`` and the 1.x registry stores what
it is given, so a broken document would only surface when a developer opens it. Each function returns the problems it
found (empty when the document is fine) so the caller can report every file at once.

- OpenAPI 2.0/3.0/3.1 through openapi-spec-validator; only local ``$ref`` (``#/...``) are allowed, because the job has
  no business fetching remote documents and the registered copy must be self-contained.
- OData: the document must be an EDMX (``edmx:Edmx`` root, OData v2/v3 or v4 namespace), parsed with defusedxml.
- AsyncAPI: the event catalog loader (:mod:`catalog`) -- 2.x, at least one channel, every channel a clean CloudEvents
  type with its ``x-kyma-connectors`` mapping -- plus ``info.title`` and ``info.version``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from jsonschema_path import SchemaPath
from openapi_spec_validator.shortcuts import get_validator_cls
from openapi_spec_validator.validation.exceptions import ValidatorDetectError

from kyma_connectors.core.catalog import CatalogError, parse_catalog

EDMX_NAMESPACES: Final[frozenset[str]] = frozenset({
    "http://docs.oasis-open.org/odata/ns/edmx",  # OData v4
    "http://schemas.microsoft.com/ado/2007/06/edmx",  # OData v2/v3
})
_MAX_PROBLEMS: Final[int] = 5


def openapi_problems(document: Any) -> list[str]:
    """Why ``document`` is not a valid, self-contained OpenAPI document (empty when it is)."""
    if not isinstance(document, dict):
        return ["not an OpenAPI document (expected a mapping)"]
    external = sorted(set(_external_refs(document)))
    if external:
        return [f"external $ref not allowed (the registered document must be self-contained): {', '.join(external)}"]
    try:
        validator_cls = get_validator_cls(document)
    except ValidatorDetectError:
        return ["not an OpenAPI document (no 'openapi: 3.x' or 'swagger: 2.0' field)"]
    problems: list[str] = []
    try:
        for error in validator_cls(SchemaPath.from_dict(document)).iter_errors():
            where = ".".join(str(p) for p in getattr(error, "path", ())) or "<root>"
            problems.append(f"{where}: {getattr(error, 'message', error)}")
            if len(problems) >= _MAX_PROBLEMS:
                break
    except Exception as exc:  # unresolvable $ref and friends surface as exceptions, not validation errors
        ref = getattr(exc, "ref", None)
        ref = f"#{ref}" if isinstance(ref, str) and ref.startswith("/") else ref
        problems.append(f"unresolvable $ref {ref!r}" if ref else f"{type(exc).__name__}: {str(exc)[:200]}")
    return problems


def _external_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            yield ref
        for value in node.values():
            yield from _external_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _external_refs(value)


def odata_problems(text: str) -> list[str]:
    """Why ``text`` is not an OData EDMX document (empty when it is)."""
    try:
        root = ElementTree.fromstring(text)
    except DefusedXmlException as exc:
        return [f"refused unsafe XML ({type(exc).__name__})"]
    except ElementTree.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    namespace, _, local = root.tag.rpartition("}")
    if local != "Edmx" or namespace.lstrip("{") not in EDMX_NAMESPACES:
        return [f"not an OData EDMX document: root element is {root.tag!r}, expected edmx:Edmx"]
    if not any(child.tag.endswith("}DataServices") for child in root):
        return ["EDMX document has no edmx:DataServices element"]
    return []


def asyncapi_problems(document: Any, source: Path) -> list[str]:
    """Why ``document`` cannot serve as the solution's event catalog (empty when it can)."""
    problems: list[str] = []
    if isinstance(document, dict):
        info = document.get("info")
        for key in ("title", "version"):
            if not isinstance(info, dict) or not info.get(key):
                problems.append(f"info.{key}: required")
    try:
        parse_catalog(document, source=source, solution=source.parent.name)
    except CatalogError as exc:
        problems.extend(str(problem) for problem in exc.problems)
    return problems
