"""The job's input: the registration manifest and the spec files it names, read and validated as one bundle.

Why all at once: a registration is all-or-nothing from the operator's point of view. Reading every file and checking
every document before the first request means a bad spec never leaves half the services registered, and the one-line
failure names every broken file and what is wrong with it.

The directory is the Job's mounted ConfigMap: ``registration.yaml`` (:mod:`registration.manifest`) beside the spec
files. ConfigMap volumes are symlink farms (``openapi.yaml -> ..data/openapi.yaml``); names must still resolve inside
the directory, so a manifest cannot make the job read arbitrary files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kyma_connectors.core.manifest import FILE_NAME, Manifest, ManifestError, parse_manifest
from kyma_connectors.core.problems import Problem
from kyma_connectors.registrar.errors import SpecError
from kyma_connectors.registrar.validation import asyncapi_problems, odata_problems, openapi_problems

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader parses large catalogs ~10x faster; the pure-Python SafeLoader is the fallback."""


@dataclass(frozen=True, kw_only=True)
class SpecBundle:
    """A validated manifest and its documents: parsed mappings for OpenAPI/AsyncAPI, the raw text for EDMX."""

    manifest: Manifest
    documents: Mapping[str, Any] = field(default_factory=dict)
    directory: Path


def load_bundle(directory: Path, *, application: str) -> SpecBundle:
    """Read and validate everything under ``directory``; raises :class:`SpecError` listing every problem."""
    manifest_path = directory / FILE_NAME
    raw = _read_yaml(manifest_path, FILE_NAME)
    try:
        manifest = parse_manifest(raw)
    except ManifestError as exc:
        raise SpecError([Problem(FILE_NAME, str(problem)) for problem in exc.problems]) from exc
    if manifest.application != application:
        raise SpecError([Problem(FILE_NAME, f"application {manifest.application!r} does not match "
                                           f"REGISTRAR_APPLICATION {application!r}")])

    problems: list[Problem] = []
    documents: dict[str, Any] = {}
    for service in manifest.services:
        wanted: list[tuple[str, str]] = []
        if service.api and service.api.spec:
            wanted.append((service.api.spec, "OData" if service.api.api_type == "OData" else "OpenAPI"))
        if service.events:
            wanted.append((service.events.spec, "AsyncAPI"))
        for name, kind in wanted:
            if name in documents:
                continue
            try:
                documents[name] = _load_document(directory, name, kind)
            except SpecError as exc:
                problems.extend(exc.problems)
                documents[name] = None
    if problems:
        raise SpecError(problems)
    return SpecBundle(manifest=manifest, documents=documents, directory=directory)


def _load_document(directory: Path, name: str, kind: str) -> Any:
    path = _inside(directory, name)
    if kind == "OData":
        text = _read_text(path, name)
        found = odata_problems(text)
        document: Any = text
    else:
        document = _jsonable(_read_yaml(path, name))
        found = openapi_problems(document) if kind == "OpenAPI" else asyncapi_problems(document, path)
    if found:
        raise SpecError([Problem(name, f"invalid {kind}: {problem}") for problem in found])
    return document


def _jsonable(document: Any) -> Any:
    """YAML turns ``2024-01-01`` into a date; registered documents travel as JSON, so make them JSON values now."""
    return json.loads(json.dumps(document, default=str))


def _inside(directory: Path, name: str) -> Path:
    path = directory / name
    if Path(name).is_absolute() or not path.resolve().is_relative_to(directory.resolve()):
        raise SpecError([Problem(name, "spec file must be inside the specs directory")])
    return path


def _read_text(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError([Problem(name, f"file not found in {path.parent}")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(name, f"cannot read: {exc}")]) from exc


def _read_yaml(path: Path, name: str) -> Any:
    text = _read_text(path, name)
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader: libyaml's CSafeLoader when built
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecError([Problem(name, f"not valid YAML/JSON{where}: {getattr(exc, 'problem', None) or exc}")]) from exc
