"""The provider inside Pulumi's own dynamic-provider host (``python -m pulumi.dynamic``), driven over gRPC.

This is the process the engine starts for dynamic resources: a fresh interpreter that unpickles ``__provider`` with
dill and speaks the ResourceProvider protocol. Driving Configure/Check/Create/Read/Diff/Update/Delete through it
proves the pickled provider loads there and that every value we return survives the host's property serialization --
the part Pulumi mocks skip. (The engine and kube-apiserver end-to-end run lives in tests/e2e.)
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from devtools.doubles.github import GitHubDouble
from tests.kyma_connectors.hooks.helpers import SECRET, Receiver, admin, provider_inputs
from tests.support.paths import REPO

pytestmark = pytest.mark.timeout(60)
URN = "urn:pulumi:dev::kyma-connectors::pulumi-python:dynamic/kyma-connectors:WebhookRegistration::gh-hook"


@pytest.fixture(scope="module")
def host() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi.dynamic"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = provider_pb2_grpc.ResourceProviderStub(channel)
        stub.Configure(provider_pb2.ConfigureRequest(acceptSecrets=False, args=struct_pb2.Struct()))
        yield stub
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    # A private loop, as the host itself does: asyncio.run() would unset the thread's loop for later (mock) tests.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(message))


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
