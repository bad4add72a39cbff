"""Pulumi's dynamic-provider host (``python -m pulumi.dynamic``) as a test partner, driven over gRPC.

It is the process the engine starts for dynamic resources: a fresh interpreter that unpickles each request's
``__provider`` property with dill and speaks the ResourceProvider protocol. Tests that talk to it prove what Pulumi
mocks skip: that a pickled provider loads there, and that its values survive the host's property serialization.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.support.paths import REPO


@contextmanager
def dynamic_provider_host() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """Start the host from the repository root (as the engine does from the program's folder), configured."""
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
    """Properties as the engine sends them."""
    # A private loop, as the host itself does: asyncio.run() would unset the thread's loop for later (mock) tests.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    """Properties as the host answered them."""
    return dict(rpc.deserialize_properties(message))
