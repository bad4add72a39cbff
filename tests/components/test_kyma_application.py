"""KymaApplication: the Application object (CRD-valid, cluster-scoped, eventing-safe label) and its component graph."""

from __future__ import annotations

from typing import Any

import pytest

from components import KymaApplication, KymaApplicationArgs
from components.kyma_application import API_VERSION, KIND, api_gateway_urls, application_object
from kyma_connectors.core import manifest as mf
from kyma_connectors.core.application_services import build_services
from tests.support.crds import assert_valid_custom_resource, crd_scope

pytestmark = pytest.mark.timeout(30)


def manifest(application: str = "github-acme") -> mf.Manifest:
    api = mf.ServiceDefinition(
        id=mf.service_id(application, "github-api"), name="github-api", display_name="GitHub REST API",
        description="Repositories.", provider_display_name="GitHub",
        api=mf.ApiDefinition(target_url="https://api.github.com", spec="openapi.yaml",
                                       credentials=mf.Credentials(type="Basic", secret_name="s")),
    )
    events = mf.ServiceDefinition(
        id=mf.service_id(application, "github-events"), name="github-events", display_name="GitHub events",
        description="Webhook events.", provider_display_name="GitHub",
        events=mf.EventsDefinition(spec="asyncapi.yaml"),
    )
    return mf.Manifest(application=application, solution="github", services=(api, events))


def args(**changes: Any) -> KymaApplicationArgs:
    values: dict[str, Any] = {"manifest": manifest(), "display_name": "GitHub (acme)", "description": "d",
                              "provider_display_name": "GitHub", **changes}
    return KymaApplicationArgs(**values)


def test_object_is_valid_cluster_scoped_and_labelled() -> None:
    """The real CRD accepts it; no namespace (the CRD is cluster-scoped); no ``application-type`` label, which the
    publisher proxy would put in place of the event source (NATS subjects would stop matching Subscriptions)."""
    obj = application_object(args())
    assert_valid_custom_resource(obj)
    assert crd_scope(API_VERSION, KIND) == "Cluster"
    assert "namespace" not in obj["metadata"]
    assert "application-type" not in {key.lower() for key in obj["metadata"]["labels"]}
    assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == "github-acme"
    assert obj["spec"]["services"] == build_services(manifest())


def test_legacy_leaves_services_to_the_registry() -> None:
    """Kyma 1.x: the Application Registry owns spec.services, so the program writes none (still CRD-valid)."""
    obj = application_object(args(include_services=False))
    assert "services" not in obj["spec"]
    assert_valid_custom_resource(obj)


def test_gateway_urls_cover_api_services_only() -> None:
    assert api_gateway_urls(manifest()) == {
        "GitHub REST API": "http://central-application-gateway.kyma-system:8080/github-acme/github-rest-api"}


@pytest.mark.parametrize("name", ["GitHub", "", "---"])
def test_invalid_application_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=r"manifest\.application"):
        args(manifest=manifest(name))


def test_component_graph_and_outputs(mock_stack: Any) -> None:
    """One Application child, parented to the component, named from its prefix; outputs resolve."""
    stack = mock_stack()
    component = stack.run(lambda: KymaApplication("github-acme-application", args()))
    parent = stack.one("kyma-connectors:index:KymaApplication")
    children = stack.children(parent)
    assert [(c.type, c.name) for c in children] == [
        ("kubernetes:applicationconnector.kyma-project.io/v1alpha1:Application", "github-acme-application-cr")]
    assert children[0].k8s_object() == application_object(args())
    assert stack.resolve(component.application_name) == "github-acme"
    assert stack.resolve(component.gateway_urls) == api_gateway_urls(manifest())
