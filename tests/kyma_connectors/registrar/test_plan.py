"""The application-cr merge rules on their own (the real-API-server tests prove them end to end)."""

from __future__ import annotations

from typing import Any

from kyma_connectors.core.application_services import build_services
from kyma_connectors.registrar.application_cr import OWNED_ANNOTATION, SPECS_ANNOTATION, plan
from kyma_connectors.registrar.bundle import SpecBundle, load_bundle
from tests.kyma_connectors.registrar.conftest import APP, SpecsDir, api_service, events_service

FOREIGN = {"id": "ucl-1", "name": "ucl", "displayName": "UCL", "providerDisplayName": "SAP", "description": "x",
           "entries": [{"type": "API"}]}


def _app(services: list[dict[str, Any]], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": APP, "annotations": annotations or {}}, "spec": {"services": services}}


def _bundle(specs: SpecsDir) -> SpecBundle:
    return load_bundle(specs.path, application=APP)


def test_first_registration_appends_ours_after_foreign_services(specs_dir: SpecsDir) -> None:
    bundle = _bundle(specs_dir)

    step = plan(_app([FOREIGN]), bundle)

    assert step.write
    assert step.services == [FOREIGN, *build_services(bundle.manifest)]
    assert [o.action.value for o in step.outcomes] == ["created", "created"]
    assert step.annotations == {OWNED_ANNOTATION: ",".join(sorted(s.id for s in specs_dir.services)),
                                SPECS_ANNOTATION: "connectors/acme-specs"}


def test_in_line_application_needs_no_write(specs_dir: SpecsDir) -> None:
    bundle = _bundle(specs_dir)
    first = plan(_app([FOREIGN]), bundle)

    step = plan(_app(first.services, dict(first.annotations)), bundle)

    assert not step.write
    assert {o.action.value for o in step.outcomes} == {"unchanged"}


def test_dropped_service_is_removed_only_when_we_owned_it(specs_dir: SpecsDir) -> None:
    owned = plan(_app([]), _bundle(specs_dir))
    specs_dir.write(api_service("github-rest-api"))

    step = plan(_app(owned.services, dict(owned.annotations)), _bundle(specs_dir))
    unowned = plan(_app(owned.services, {}), _bundle(specs_dir))

    assert [s["name"] for s in step.services] == ["github-rest-api"]
    assert [(o.name, o.action.value) for o in step.outcomes] == [("github-rest-api", "unchanged"),
                                                                 ("github-events", "deleted")]
    assert [s["name"] for s in unowned.services] == ["github-events", "github-rest-api"]  # never ours: kept


def test_changed_service_is_updated_in_place_of_the_old_one(specs_dir: SpecsDir) -> None:
    owned = plan(_app([FOREIGN]), _bundle(specs_dir))
    specs_dir.write(api_service("github-rest-api", description="New."), events_service())

    step = plan(_app(owned.services, dict(owned.annotations)), _bundle(specs_dir))

    assert step.write
    assert [(o.name, o.action.value) for o in step.outcomes] == [("github-rest-api", "updated"),
                                                                 ("github-events", "unchanged")]
    assert step.services[0] == FOREIGN
    assert step.services[1]["description"] == "New."


def test_without_specs_config_map_no_specs_annotation(specs_dir: SpecsDir) -> None:
    specs_dir.write(config_map=None)

    step = plan(_app([]), _bundle(specs_dir))

    assert SPECS_ANNOTATION not in step.annotations
