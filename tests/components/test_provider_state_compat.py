"""A stack written before the layout change still refreshes and destroys its webhook registrations.

Pulumi keeps each dynamic resource's provider in state as ``__provider``: a base64 dill pickle that names the class
by import path. data/provider-blob-components-path.txt is that blob exactly as an existing stack holds it for
``components.webhook_registration.WebhookRegistrationProvider``. ``pulumi refresh`` and ``pulumi destroy`` send it,
with the stored outputs, to Pulumi's dynamic-provider host, which unpickles it (``get_provider`` in
pulumi/dynamic/__main__.py: ``dill.loads(base64.b64decode(props["__provider"]))`` under ``_deserialize``) and calls
``read`` / ``delete``. So the test drives that host process, not a reimplementation of its loading.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Final

import pytest
from pulumi.runtime.proto import provider_pb2

from components.webhook_registration import WebhookRegistrationProvider
from devtools.doubles.github import GitHubDouble
from tests.kyma_connectors.hooks.helpers import Receiver, admin, provider_inputs
from tests.support.provider_host import dynamic_provider_host, plain, struct

pytestmark = pytest.mark.timeout(60)
OLD_BLOB: Final[str] = (Path(__file__).parent / "data" / "provider-blob-components-path.txt").read_text().strip()
URN: Final[str] = "urn:pulumi:dev::kyma-connectors::pulumi-python:dynamic/kyma-connectors:WebhookRegistration::gh-hook"


def test_the_fixture_is_the_old_pickle_by_reference() -> None:
    pickled = base64.b64decode(OLD_BLOB)
    assert b"components.webhook_registration" in pickled
    assert b"WebhookRegistrationProvider" in pickled
    assert len(pickled) < 200  # a reference to the class, no captured code or values


def test_state_from_the_old_provider_path_refreshes_then_deletes(github: GitHubDouble, gateway: Receiver) -> None:
    created = WebhookRegistrationProvider().create(provider_inputs(github.url, gateway.url))  # an earlier `up`
    assert created.outs is not None
    state = {**created.outs, "__provider": OLD_BLOB}  # what the stack's state file holds for the resource
    admin(github.url, "PATCH", f"hooks/{created.id}", {"events": ["star"]})  # edited by hand since

    with dynamic_provider_host() as host:
        read = host.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=struct(state)))
        refreshed = plain(read.properties)
        assert read.id == created.id
        assert (refreshed["hook_id"], refreshed["events"]) == (created.id, ["star"])  # seen live, drift included
        assert refreshed["__provider"] == OLD_BLOB  # the state keeps the old blob; the next `up` rewrites it
        assert [str(hook["id"]) for hook in admin(github.url, "GET", "hooks")] == [created.id]

        host.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=read.properties))
        assert admin(github.url, "GET", "hooks") == []
        gone = host.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=read.properties))
        assert gone.id == ""  # a later refresh drops it from state
