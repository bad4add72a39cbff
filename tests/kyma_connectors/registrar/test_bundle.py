"""Bad input fails before any request, with the permanent exit code and a message naming the file and the problem."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from devtools.doubles.registry import RegistryDouble
from kyma_connectors.core.problems import Problem
from kyma_connectors.registrar.bundle import load_bundle
from kyma_connectors.registrar.errors import EXIT_PERMANENT, SpecError
from tests.kyma_connectors.registrar.conftest import (
    APP,
    EDMX,
    OPENAPI,
    SpecsDir,
    api_service,
    events_service,
    invoke,
    registry_env,
)
from tests.support.paths import SPECS

pytestmark = pytest.mark.timeout(60)


def _fails(specs: SpecsDir, registry: RegistryDouble, *fragments: str) -> str:
    result = invoke(registry_env(specs, registry))
    assert result.code == EXIT_PERMANENT, result.stderr
    assert result.stderr.startswith("registrar: permanent: ")
    assert len(result.stderr.strip().splitlines()) == 1
    for fragment in fragments:
        assert fragment in result.stderr
    assert registry.calls == [], "nothing may be sent when the input is bad"
    return result.stderr


def test_invalid_openapi_names_file_and_problem(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    broken = copy.deepcopy(OPENAPI)
    del broken["info"]["version"]
    broken["paths"]["/repos/{owner}/{repo}/issues"]["get"]["responses"] = "nope"
    specs_dir.file("openapi.yaml", broken)

    _fails(specs_dir, registry, "openapi.yaml: invalid OpenAPI", "'version' is a required property")


def test_openapi_with_dangling_ref_is_rejected(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    broken = copy.deepcopy(OPENAPI)
    broken["components"]["schemas"] = {}
    specs_dir.file("openapi.yaml", broken)

    _fails(specs_dir, registry, "openapi.yaml", "#/components/schemas/Issue")


def test_openapi_with_external_ref_is_rejected(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    broken = copy.deepcopy(OPENAPI)
    broken["components"]["schemas"]["Issue"] = {"$ref": "https://schemas.example.com/issue.json"}
    specs_dir.file("openapi.yaml", broken)

    _fails(specs_dir, registry, "openapi.yaml", "external $ref", "https://schemas.example.com/issue.json")


def test_document_that_is_not_openapi(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    specs_dir.file("openapi.yaml", {"hello": "world"})

    _fails(specs_dir, registry, "openapi.yaml", "not an OpenAPI document")


def test_asyncapi_without_channels(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    specs_dir.file("asyncapi.yaml", {"asyncapi": "2.6.0", "info": {"title": "t", "version": "1"}, "channels": {}})

    _fails(specs_dir, registry, "asyncapi.yaml: invalid AsyncAPI", "channels: expected at least one channel")


def test_asyncapi_without_info(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    document = yaml.safe_load((specs_dir.path / "asyncapi.yaml").read_text())
    del document["info"]
    specs_dir.file("asyncapi.yaml", document)

    _fails(specs_dir, registry, "asyncapi.yaml", "info.title: required", "info.version: required")


def test_unknown_credential_type(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    document = yaml.safe_load((specs_dir.path / "registration.yaml").read_text())
    document["services"][0]["api"]["credentials"] = {"type": "Digest", "secretName": "acme"}
    specs_dir.write(raw=document)

    _fails(specs_dir, registry, "registration.yaml", "services[0].api.credentials.type",
           "unknown credential type 'Digest'")


def test_every_broken_file_is_reported_at_once(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    specs_dir.file("openapi.yaml", {"openapi": "3.0.3"})
    specs_dir.file("asyncapi.yaml", {"asyncapi": "2.6.0", "info": {"title": "t", "version": "1"}})

    _fails(specs_dir, registry, "openapi.yaml: invalid OpenAPI", "asyncapi.yaml: invalid AsyncAPI")


def test_missing_spec_file(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    (specs_dir.path / "openapi.yaml").unlink()

    _fails(specs_dir, registry, "openapi.yaml: file not found")


def test_malformed_yaml_names_the_line(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    specs_dir.file("openapi.yaml", "openapi: 3.0.3\ninfo: [unclosed\n")

    _fails(specs_dir, registry, "openapi.yaml: not valid YAML/JSON at line")


def test_spec_outside_the_directory_is_refused(specs_dir: SpecsDir, registry: RegistryDouble,
                                               tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("openapi: 3.0.3\n")
    specs_dir.write(api_service("github-rest-api", spec="../secret.yaml"))

    _fails(specs_dir, registry, "../secret.yaml: spec file must be inside the specs directory")


def test_manifest_for_another_application(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    env = registry_env(specs_dir, registry, REGISTRAR_APPLICATION="someone-else")

    result = invoke(env)

    assert result.code == EXIT_PERMANENT
    assert "does not match REGISTRAR_APPLICATION 'someone-else'" in result.stderr


def test_missing_manifest(tmp_path: Path, registry: RegistryDouble) -> None:
    _fails(SpecsDir(tmp_path), registry, "registration.yaml: file not found")


def test_odata_must_be_edmx(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    specs_dir.file("orders.edmx", "<html><body>not edmx</body></html>")
    specs_dir.write(api_service("orders", spec="orders.edmx", api_type="OData"))

    _fails(specs_dir, registry, "orders.edmx: invalid OData", "expected edmx:Edmx")


def test_odata_rejects_entity_expansion(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>'
    specs_dir.file("orders.edmx", bomb)
    specs_dir.write(api_service("orders", spec="orders.edmx", api_type="OData"))

    _fails(specs_dir, registry, "orders.edmx", "refused unsafe XML")


def test_valid_bundle_parses_documents_as_json_values(specs_dir: SpecsDir) -> None:
    specs_dir.file("openapi.yaml", {**OPENAPI, "info": {"title": "t", "version": "1", "x-released": "2024-01-01"}})
    (specs_dir.path / "openapi.yaml").write_text(
        (specs_dir.path / "openapi.yaml").read_text().replace("'2024-01-01'", "2024-01-01"))
    specs_dir.write(api_service("github-rest-api"), api_service("orders", spec="orders.edmx", api_type="OData"),
                    events_service())

    bundle = load_bundle(specs_dir.path, application=APP)

    assert bundle.documents["openapi.yaml"]["info"]["x-released"] == "2024-01-01"  # a date became a string
    assert bundle.documents["orders.edmx"] == EDMX
    assert bundle.documents["asyncapi.yaml"]["channels"]


def test_spec_error_lists_problems() -> None:
    error = SpecError([Problem("a.yaml", "x"), Problem("b.yaml", "y")])
    assert error.problems == (Problem("a.yaml", "x"), Problem("b.yaml", "y"))
    assert error.messages == ["a.yaml: x", "b.yaml: y"]
    assert str(error) == "a.yaml: x; b.yaml: y"


def test_configmap_volume_symlink_farm_is_read(tmp_path: Path) -> None:
    """A ConfigMap volume: files are links into a timestamped dir through ``..data``, as kubelet writes them."""
    source = SpecsDir(tmp_path / "source")
    source.path.mkdir()
    shutil.copy(SPECS / "github" / "asyncapi.yaml", source.path / "asyncapi.yaml")
    source.file("openapi.yaml", OPENAPI).write(api_service("github-rest-api"), events_service())
    mount = tmp_path / "mount"
    stamped = mount / "..2026_11_28_00_00_00.123456789"
    shutil.copytree(source.path, stamped)
    (mount / "..data").symlink_to(stamped.name)
    for name in ("registration.yaml", "openapi.yaml", "asyncapi.yaml"):
        (mount / name).symlink_to(f"..data/{name}")

    bundle = load_bundle(mount, application=APP)

    assert set(bundle.documents) == {"openapi.yaml", "asyncapi.yaml"}
