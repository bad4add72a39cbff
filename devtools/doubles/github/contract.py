"""GitHub's published hooks contract (an OpenAPI 3.0 subset), turned into request and response checks.

Why this exists: a test double is only worth something if it cannot drift from the real API. The double therefore
routes every request through :class:`Contract` -- path template, path/query parameter types, request body schema --
and checks every answer it gives -- declared status code, body schema, declared headers (``Link``, ``Location``) and
the rate-limit headers of ``components/headers`` -- against ``../shared/github/rest-hooks-openapi.json``.

OpenAPI 3.0 schemas are not quite JSON Schema: ``nullable`` and ``#/components/...`` references need translating.
:func:`to_json_schema` does exactly that (inlining references, turning ``nullable: true`` into a ``null`` type) and
the result is checked with ``jsonschema`` (Draft 2020-12 semantics cover everything this subset uses).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jsonschema

from devtools.doubles.shared_data import shared_path, shared_root

SPEC_RELATIVE: Final[str] = "github/rest-hooks-openapi.json"

GENERIC_ERROR_STATUSES: Final[frozenset[int]] = frozenset({400, 401, 403, 404, 422, 429, 500, 502, 503})
"""Answers GitHub gives to any operation although the subset does not list them per operation (bad credentials,
rate limits, server errors: see docs.github.com "Rate limits for the REST API" and "Authenticating to the REST API").
They must still carry a ``basic-error`` (or ``validation-error`` for 422) body."""

RATE_LIMIT_HEADERS: Final[dict[str, str]] = {
    "x-ratelimit-limit": "x-rate-limit-limit",
    "x-ratelimit-remaining": "x-rate-limit-remaining",
    "x-ratelimit-reset": "x-rate-limit-reset",
}
"""Wire header name -> key under ``components/headers`` whose schema it must satisfy."""


class ContractViolation(Exception):
    """A request or response does not match the published description; the message names the operation and why."""


def default_spec_path() -> Path:
    """Where the description should be in the shared data (devtools/doubles/shared_data.py); not checked."""
    return shared_root() / SPEC_RELATIVE


def to_json_schema(node: Any, components: dict[str, Any], _depth: int = 0) -> Any:
    """Translate an OpenAPI 3.0 schema node to plain JSON Schema: inline ``$ref``, map ``nullable``."""
    if _depth > 40:
        raise ContractViolation("schema reference chain too deep (recursive $ref?)")
    if isinstance(node, list):
        return [to_json_schema(item, components, _depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return to_json_schema(resolve(node["$ref"], components), components, _depth + 1)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":  # keys here are property names, not keywords
            out[key] = {name: to_json_schema(sub, components, _depth + 1) for name, sub in value.items()}
        elif key not in ("nullable", "example", "examples", "description", "format"):
            out[key] = to_json_schema(value, components, _depth + 1)
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    return out


def resolve(ref: str, components: dict[str, Any]) -> Any:
    """Follow a local ``#/components/<kind>/<name>`` reference."""
    prefix = "#/components/"
    if not ref.startswith(prefix):
        raise ContractViolation(f"unsupported reference {ref!r}")
    node: Any = components
    for part in ref[len(prefix) :].split("/"):
        node = node[part]
    return node


@dataclass(frozen=True)
class Operation:
    """One operation of the description, with its compiled path pattern."""

    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    definition: dict[str, Any]


@dataclass(frozen=True)
class Match:
    """A request routed to an operation, with its typed path parameters."""

    operation: Operation
    params: dict[str, Any]


class Contract:
    """Routes and validates requests and responses against the hooks description."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components: dict[str, Any] = spec["components"]
        self.operations: list[Operation] = []
        for template, methods in spec["paths"].items():
            regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"
            for method, definition in methods.items():
                if method in ("get", "post", "patch", "put", "delete"):
                    self.operations.append(
                        Operation(definition["operationId"], method.upper(), template, re.compile(regex), definition)
                    )

    @classmethod
    def load(cls, path: Path | None = None) -> Contract:
        """Read the description (default: the shared data's; ``SharedDataMissing`` says where it looked)."""
        source = path or shared_path(SPEC_RELATIVE)
        return cls(json.loads(source.read_text(encoding="utf-8")))

    def route(self, method: str, path: str) -> Match | None:
        """The operation serving ``method path``, or None when the subset has no such operation."""
        for op in self.operations:
            found = op.pattern.match(path)
            if found and op.method == method:
                return Match(op, self._typed_params(op, "path", dict(found.groupdict())))
        return None

    def path_exists(self, path: str) -> bool:
        """True when some method serves ``path`` (so a wrong method is a 404 rather than an unknown path)."""
        return any(op.pattern.match(path) for op in self.operations)

    def check_request(self, match: Match, query: dict[str, str], body: Any, has_body: bool) -> dict[str, Any]:
        """Validate query parameters and the JSON body; return the typed query parameters."""
        op = match.operation
        typed = self._typed_params(op, "query", query)
        request_body = op.definition.get("requestBody")
        if has_body and request_body is None:
            raise ContractViolation(f"{op.operation_id}: takes no request body")
        if request_body is None:
            return typed
        if not has_body:
            if request_body.get("required"):
                raise ContractViolation(f"{op.operation_id}: request body is required")
            return typed
        schema = request_body["content"]["application/json"]["schema"]
        self._validate(schema, body, f"{op.operation_id} request body")
        return typed

    def check_response(self, match: Match, status: int, headers: dict[str, str], body: Any) -> None:
        """Validate an answer: declared status, body schema, declared and rate-limit headers."""
        op = match.operation
        lower = {name.lower(): value for name, value in headers.items()}
        self.check_rate_limit_headers(op.operation_id, lower)
        declared = op.definition["responses"].get(str(status))
        if declared is None:
            if status not in GENERIC_ERROR_STATUSES:
                raise ContractViolation(f"{op.operation_id}: status {status} is not declared")
            error = "validation-error" if status == 422 else "basic-error"
            declared = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{error}"}}}}
        if "$ref" in declared:
            declared = resolve(declared["$ref"], self.components)
        content = declared.get("content")
        if content is None:
            if body is not None:
                raise ContractViolation(f"{op.operation_id}: status {status} has no body, got one")
        else:
            self._validate(content["application/json"]["schema"], body, f"{op.operation_id} {status} body")
        for name, header in declared.get("headers", {}).items():
            if name.lower() not in lower and name.lower() != "link":
                raise ContractViolation(f"{op.operation_id}: {status} lacks header {name}")
            if name.lower() in lower:
                schema = resolve(header["$ref"], self.components)["schema"] if "$ref" in header else header["schema"]
                self._validate(schema, lower[name.lower()], f"{op.operation_id} header {name}")

    def check_rate_limit_headers(self, where: str, headers: dict[str, str]) -> None:
        """Every REST answer carries the rate-limit headers, each an integer as ``components/headers`` says."""
        for wire, key in RATE_LIMIT_HEADERS.items():
            if wire not in headers:
                raise ContractViolation(f"{where}: lacks header {wire}")
            schema = self.components["headers"][key]["schema"]
            try:
                value: Any = int(headers[wire])
            except ValueError:
                value = headers[wire]
            self._validate(schema, value, f"{where} header {wire}")

    def _typed_params(self, op: Operation, where: str, raw: dict[str, str]) -> dict[str, Any]:
        typed: dict[str, Any] = {}
        for param in op.definition.get("parameters", []):
            spec = resolve(param["$ref"], self.components) if "$ref" in param else param
            if spec["in"] != where:
                continue
            name = spec["name"]
            if name not in raw:
                if spec.get("required"):
                    raise ContractViolation(f"{op.operation_id}: missing {where} parameter {name}")
                continue
            schema = spec["schema"]
            value: Any = raw[name]
            if schema.get("type") == "integer":
                try:
                    value = int(value)
                except ValueError as exc:
                    raise ContractViolation(f"{op.operation_id}: {where} parameter {name} must be an integer") from exc
            self._validate(schema, value, f"{op.operation_id} {where} parameter {name}")
            typed[name] = value
        return typed

    def _validate(self, schema: Any, instance: Any, where: str) -> None:
        plain = to_json_schema(schema, self.components)
        errors = sorted(jsonschema.Draft202012Validator(plain).iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            details = "; ".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message[:200]}" for e in errors[:5])
            raise ContractViolation(f"{where}: {details}")
