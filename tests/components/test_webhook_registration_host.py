"""The provider inside Pulumi's own dynamic-provider host (``python -m pulumi.dynamic``), driven over gRPC.

This is the process the engine starts for dynamic resources: a fresh interpreter that unpickles ``__provider`` with
dill and speaks the ResourceProvider protocol. Driving Configure/Check/Create/Read/Diff/Update/Delete through it
proves the pickled provider loads there and that every value we return survives the host's property serialization --
the part Pulumi mocks skip. (The engine and kube-apiserver end-to-end run lives in tests/e2e.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from devtools.doubles.github import GitHubDouble
from tests.kyma_connectors.hooks.helpers import SECRET, Receiver, admin, provider_inputs
from tests.support.provider_host import dynamic_provider_host, plain, struct

pytestmark = pytest.mark.timeout(60)
URN = "urn:pulumi:dev::kyma-connectors::pulumi-python:dynamic/kyma-connectors:WebhookRegistration::gh-hook"


@pytest.fixture(scope="module")
def host() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    with dynamic_provider_host() as stub:
        yield stub


def news(github: GitHubDouble, gateway: Receiver, **changes: Any) -> dict[str, Any]:
    return provider_inputs(github.url, gateway.url, **changes)


def test_full_lifecycle_through_the_dynamic_provider_host(
    host: provider_pb2_grpc.ResourceProviderStub, github: GitHubDouble, gateway: Receiver
) -> None:
    checked = host.Check(provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(news(github, gateway))))
    assert list(checked.failures) == []
    inputs = plain(checked.inputs)

    created = host.Create(provider_pb2.CreateRequest(urn=URN, properties=struct(inputs)))
    state = plain(created.properties)
    assert state["ping_status"] == "ok"
    assert state["last_response"] == {"code": 200, "status": "active", "message": "OK"}
    assert created.id == state["hook_id"] == str(admin(github.url, "GET", "hooks")[0]["id"])

    admin(github.url, "PATCH", f"hooks/{created.id}", {"events": ["star"]})  # edited by hand
    read = host.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=struct(state)))
    refreshed = plain(read.properties)
    assert refreshed["events"] == ["star"]
    assert plain(read.inputs)["events"] == ["star"]

    diff = host.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=struct(refreshed), news=struct(inputs)))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN  # the engine then diffs the inputs and names keys
    assert list(diff.replaces) == []
    same = host.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=struct(state), news=struct(inputs)))
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE

    updated = host.Update(
        provider_pb2.UpdateRequest(id=created.id, urn=URN, olds=struct(refreshed), news=struct(inputs))
    )
    assert plain(updated.properties)["events"] == ["push", "issues"]
    assert admin(github.url, "GET", "hooks")[0]["events"] == ["push", "issues"]

    moved = news(github, gateway, target="octo/other")
    diff = host.Diff(provider_pb2.DiffRequest(id=created.id, urn=URN, olds=struct(refreshed), news=struct(moved)))
    assert (list(diff.replaces), diff.deleteBeforeReplace) == (["target"], True)

    host.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=updated.properties))
    assert admin(github.url, "GET", "hooks") == []
    gone = host.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=updated.properties))
    assert gone.id == ""


def test_check_failures_reach_the_engine_by_field(
    host: provider_pb2_grpc.ResourceProviderStub, github: GitHubDouble, gateway: Receiver
) -> None:
    bad = news(github, gateway, target="not a repo", events=[], token=None)
    checked = host.Check(provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(bad)))
    assert sorted(f.property for f in checked.failures) == ["events", "target", "token"]
    assert all(SECRET not in f.reason for f in checked.failures)


def test_provider_errors_reach_the_engine_without_secrets(
    host: provider_pb2_grpc.ResourceProviderStub, github: GitHubDouble, gateway: Receiver
) -> None:
    props = news(github, gateway, token="ghp_revoked_token_value")
    with pytest.raises(grpc.RpcError) as info:
        host.Create(provider_pb2.CreateRequest(urn=URN, properties=struct(props)))
    details = str(info.value.details())
    assert "AuthenticationError" in details
    assert "the token is wrong, expired or revoked" in details
    assert "ghp_revoked_token_value" not in details
    assert SECRET not in details
