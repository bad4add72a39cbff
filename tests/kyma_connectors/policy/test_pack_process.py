"""The policy pack as the engine runs it: its own process (``python -m pulumi.policy``), spoken to over gRPC.

The Pulumi CLI starts a Python pack through the language host, which the offline toolchain lacks (see
devtools/cluster/toolchain.sh), so ``pulumi preview --policy-pack policy`` cannot run here. This test does the
engine's part
instead: it launches the pack with the same module entry point, reads the port it prints, and sends ``Analyze``
requests built from what the components register -- the SDK's own deserialisation, proxies and enforcement levels
included.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from kyma_connectors.policy import rules
from tests.support.component_samples import VARIANTS, emitted, programs
from tests.support.paths import REPO
from tests.support.pulumi_mocks import Registration

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    # No PYTHONPATH: the pack must run self-contained, as a published copy would (kyma_connectors/policy/ alone on
    # sys.path).
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(REPO / "kyma_connectors" / "policy")],
        cwd=REPO / "kyma_connectors" / "policy", stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().decode().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=20)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _request(resource: Registration, props: dict[str, Any] | None = None) -> analyzer_pb2.AnalyzeRequest:
    properties = struct_pb2.Struct()
    properties.update(props if props is not None else resource.inputs)
    return analyzer_pb2.AnalyzeRequest(type=resource.type, properties=properties, urn=resource.urn,
                                       name=resource.name)


@pytest.fixture(scope="module")
def gateway_objects() -> list[Registration]:
    return emitted(programs()["gateway"])


def test_pack_declares_every_rule_mandatory(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "kyma-connectors"
    assert {p.name for p in info.policies} == {r.name for r in rules.RULES}
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}


@pytest.mark.parametrize("variant", VARIANTS)
def test_what_the_components_emit_passes(analyzer: analyzer_pb2_grpc.AnalyzerStub, variant: str) -> None:
    for resource in emitted(programs()[variant]):
        assert list(analyzer.Analyze(_request(resource)).diagnostics) == [], resource.name


def test_a_violation_comes_back_as_a_mandatory_diagnostic(analyzer: analyzer_pb2_grpc.AnalyzerStub,
                                                          gateway_objects: list[Registration]) -> None:
    apirule = next(r for r in gateway_objects if r.type.endswith(":APIRule"))
    props = dict(apirule.inputs)
    props["spec"] = {**props["spec"], "rules": [{"path": "/admin", "methods": ["GET"], "noAuth": True}]}
    (diagnostic,) = analyzer.Analyze(_request(apirule, props)).diagnostics
    assert diagnostic.policyName == "apirule-noauth-only-webhook"
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY
    assert "/admin" in diagnostic.message
