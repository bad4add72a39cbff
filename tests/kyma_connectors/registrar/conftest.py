"""Fixtures for the registrar: a specs directory laid out like the Job's mounted ConfigMap, and its environment."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.doubles.registry import RegistryDouble
from kyma_connectors.core import manifest as mf
from kyma_connectors.registrar.run import run
from tests.support.paths import SPECS

APP = "github-acme"

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Issues API", "version": "1.0.0"},
    "paths": {
        "/repos/{owner}/{repo}/issues": {
            "parameters": [
                {"name": "owner", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "repo", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
            "get": {
                "operationId": "listIssues",
                "responses": {"200": {"description": "issues", "content": {"application/json": {
                    "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}}}}}},
            },
        }
    },
    "components": {"schemas": {"Issue": {"type": "object", "properties": {"number": {"type": "integer"}}}}},
}

EDMX = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Orders" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="Order"><Key><PropertyRef Name="ID"/></Key><Property Name="ID" Type="Edm.Int32"/></EntityType>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""


def api_service(name: str, *, app: str = APP, credentials: mf.Credentials | None = None, spec: str = "openapi.yaml",
                api_type: str = "OpenAPI", description: str = "An API.",
                params: str | None = None) -> mf.ServiceDefinition:
    return mf.ServiceDefinition(
        id=mf.service_id(app, name), name=name, display_name=name.replace("-", " ").title(), description=description,
        provider_display_name="Acme",
        api=mf.ApiDefinition(target_url=f"https://{name}.example.com", spec=spec, api_type=api_type,
                          credentials=credentials, request_parameters_secret_name=params),
    )


def events_service(name: str = "github-events", *, app: str = APP) -> mf.ServiceDefinition:
    return mf.ServiceDefinition(id=mf.service_id(app, name), name=name, display_name="GitHub events",
                             description="Webhook events.", provider_display_name="GitHub",
                             events=mf.EventsDefinition(spec="asyncapi.yaml"))


@dataclass
class SpecsDir:
    """A directory shaped like the registrar's mounted ConfigMap; ``write`` (re)writes the manifest."""

    path: Path
    application: str = APP
    services: list[mf.ServiceDefinition] = field(default_factory=list)

    def write(self, *services: mf.ServiceDefinition, config_map: tuple[str, str] | None = ("connectors", "acme-specs"),
              raw: dict[str, Any] | None = None) -> SpecsDir:
        if services:
            self.services = list(services)
        manifest = mf.Manifest(application=self.application, solution="github", services=tuple(self.services),
                            specs_namespace=config_map[0] if config_map else None,
                            specs_config_map=config_map[1] if config_map else None)
        document = raw if raw is not None else manifest.to_dict()
        (self.path / "registration.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        return self

    def file(self, name: str, content: Any) -> SpecsDir:
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        (self.path / name).write_text(text)
        return self


@pytest.fixture
def specs_dir(tmp_path: Path) -> SpecsDir:
    """Specs with a valid OpenAPI document, the shipped GitHub AsyncAPI catalog and an EDMX document."""
    directory = tmp_path / "specs"
    directory.mkdir()
    shutil.copy(SPECS / "github" / "asyncapi.yaml", directory / "asyncapi.yaml")
    specs = SpecsDir(directory)
    specs.file("openapi.yaml", OPENAPI).file("orders.edmx", EDMX)
    return specs.write(api_service("github-rest-api"), events_service())


@pytest.fixture
def credentials_dir(tmp_path: Path) -> Path:
    """Credential Secrets mounted the way the Job mounts them: ``<dir>/<secretName>/<key>``."""
    root = tmp_path / "credentials"
    for secret, values in {
        "acme-basic": {"username": "svc-user", "password": "s3cr3t-basic-password"},
        "acme-oauth": {"clientId": "client-123", "clientSecret": "s3cr3t-oauth-secret"},
        "acme-params": {"headers": '{"X-Api-Key": ["s3cr3t-header-key"]}', "queryParameters": '{"tenant": ["t1"]}'},
    }.items():
        (root / secret).mkdir(parents=True)
        for key, value in values.items():
            (root / secret / key).write_text(value)
    return root


@pytest.fixture
def registry() -> Iterator[RegistryDouble]:
    with RegistryDouble() as double:
        yield double
    assert double.contract_violations == [], "the double answered outside its contract"


def registry_env(specs: SpecsDir, registry: RegistryDouble, credentials: Path | None = None,
                 **extra: str) -> dict[str, str]:
    env = {
        "REGISTRAR_BACKEND": "application-registry",
        "REGISTRAR_APPLICATION": specs.application,
        "REGISTRAR_SPECS_DIR": str(specs.path),
        "REGISTRAR_REGISTRY_URL": registry.url,
        "REGISTRAR_WAIT_SECONDS": "3",
        "REGISTRAR_REQUEST_TIMEOUT": "5",
    }
    if credentials is not None:
        env["REGISTRAR_CREDENTIALS_DIR"] = str(credentials)
    return {**env, **extra}


@dataclass(frozen=True)
class Result:
    """One in-process ``python -m kyma_connectors.registrar`` run: exit code, parsed JSON log lines, stderr text."""

    code: int
    lines: list[dict[str, Any]]
    stderr: str
    stdout: str

    def actions(self) -> dict[str, str]:
        """service name -> action of this run."""
        return {line["service"]: line["action"] for line in self.lines if line["msg"] == "service"}

    @property
    def summary(self) -> dict[str, Any]:
        return next(line for line in self.lines if line["msg"] == "summary")


def invoke(env: dict[str, str]) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = run(env, stdout=out, stderr=err)
    return Result(code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue(), out.getvalue())
