"""Validate custom resources against the real Kyma CRDs in ../shared/kyma/crds, the way kube-apiserver would.

Two layers, both taken from the CRD documents themselves (no hand-written shapes):
- the version's ``openAPIV3Schema`` (structural schema) through ``jsonschema`` -- types, required fields, enums,
  patterns, min/max; Kubernetes-only keywords (``x-kubernetes-*``, ``format: int-or-string``) are ignored by it;
- every ``x-kubernetes-validations`` CEL rule, evaluated with cel-python at the node it is attached to, as the API
  server does (APIRule v2's "exactly one of noAuth/jwt/extAuth", gateway and host formats).

Usage::

    from tests.support.crds import crd_errors, assert_valid_custom_resource
    assert_valid_custom_resource(application_object)   # picks CRD and version from apiVersion/kind
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml
from celpy.adapter import json_to_cel

from tests.support.paths import CRDS


@cache
def _crds() -> dict[tuple[str, str], dict[str, Any]]:
    """(group, kind) -> CRD document, for every CRD file in ../shared/kyma/crds."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(Path(CRDS).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                spec = doc["spec"]
                found[(spec["group"], spec["names"]["kind"])] = doc
    return found


def _crd(group: str, kind: str) -> dict[str, Any]:
    """The CRD defining ``kind`` in ``group``; a KeyError that names the folder searched when there is none."""
    try:
        return _crds()[(group, kind)]
    except KeyError:
        raise KeyError(f"no CustomResourceDefinition for {kind}.{group} in {CRDS}") from None


def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The ``openAPIV3Schema`` of a served CRD version; KeyError when the CRD or version is not there."""
    group, _, version = api_version.rpartition("/")
    crd = _crd(group, kind)
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            if not entry.get("served", False):
                raise KeyError(f"{api_version} {kind} is not served")
            return dict(entry["schema"]["openAPIV3Schema"])
    raise KeyError(f"{api_version} {kind}: no such version in the CRD")


def crd_scope(api_version: str, kind: str) -> str:
    """``Namespaced`` or ``Cluster``."""
    group = api_version.rpartition("/")[0]
    return str(_crd(group, kind)["spec"]["scope"])


def crd_errors(obj: dict[str, Any]) -> list[str]:
    """Every way ``obj`` breaks its CRD: schema errors and failed CEL rules, each with its path."""
    schema = crd_schema(obj["apiVersion"], obj["kind"])
    errors = [
        f"{'.'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in jsonschema.Draft7Validator(schema).iter_errors(obj)
    ]
    _check_cel(schema, obj, "", errors)
    return errors


def assert_valid_custom_resource(obj: dict[str, Any]) -> None:
    """Fail with every problem listed when ``obj`` would be rejected by the CRD."""
    errors = crd_errors(obj)
    assert not errors, f"{obj['kind']} {obj.get('metadata', {}).get('name')}: " + "; ".join(errors)


_ENV = celpy.Environment()


@cache
def _program(rule: str) -> Any:
    return _ENV.program(_ENV.compile(rule))


def _check_cel(schema: dict[str, Any], value: Any, path: str, errors: list[str]) -> None:
    for validation in schema.get("x-kubernetes-validations", []):
        try:
            ok = _program(validation["rule"]).evaluate({"self": json_to_cel(value)})
        except Exception as exc:  # a rule that cannot evaluate is a rejection, as in the API server
            ok = False
            errors.append(f"{path or '<root>'}: CEL rule {validation['rule']!r} failed to evaluate: {exc}")
            continue
        if not bool(ok):
            errors.append(f"{path or '<root>'}: {validation.get('message', validation['rule'])}")
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check_cel(sub, value[key], f"{path}.{key}" if path else key, errors)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _check_cel(schema["items"], item, f"{path}[{i}]", errors)
