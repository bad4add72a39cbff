"""``tuning.stack_traces``: the same StackTrace as the SDK's capture, for every registration, and installed only when
the SDK is the one it was checked against."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pulumi.runtime import resource as sdk
from pulumi.runtime.proto import source_pb2

from tests.support.pulumi_mocks import MockStack, example_config, run_main
from tuning import stack_traces

pytestmark = pytest.mark.timeout(60)

SDK_CAPTURE = sdk._get_stack_trace


@pytest.fixture
def sdk_capture_restored() -> Iterator[None]:
    yield
    sdk._get_stack_trace = SDK_CAPTURE


def both() -> tuple[source_pb2.StackTrace, source_pb2.StackTrace]:
    """The SDK's capture and ours, taken from the same frame (this one, which the rule skips like any other)."""
    return SDK_CAPTURE(), stack_traces.stack_trace()


def test_the_installed_sdk_is_the_one_checked() -> None:
    assert stack_traces.sdk_digest() == stack_traces.SDK_DIGEST, (
        "pulumi/runtime/resource.py changed: compare its _get_stack_trace and _get_source_position_for_frame with "
        "tuning/stack_traces.py, then update SDK_DIGEST (until then the SDK's own capture runs)")


def test_every_registration_of_the_example_program_gets_the_sdks_stack_trace(
        monkeypatch: pytest.MonkeyPatch, sdk_capture_restored: None) -> None:
    """The example stack end to end: at each registration both captures run on the same stack and must be equal."""
    pairs: list[tuple[source_pb2.StackTrace, source_pb2.StackTrace]] = []

    def compare() -> source_pb2.StackTrace:
        pair = both()
        pairs.append(pair)
        return pair[0]

    monkeypatch.setenv(stack_traces.OPT_OUT_ENV, "sdk")  # the program's install() leaves `compare` in place
    sdk._get_stack_trace = compare
    stack = MockStack(config=example_config(), secret_keys=["connectors"], stack="dev")
    try:
        run_main(stack)
    finally:
        MockStack.reset()
    assert len(pairs) == len(stack.registrations) + 1  # and the Stack's (registered, not recorded, by the harness)
    for theirs, ours in pairs:
        assert ours == theirs
    # Meaningful traces: every child of a component is traced to the component module that built it.
    positions = [trace.frames[0].pc.uri for trace, _ in pairs if trace.frames]
    assert len(positions) == len(pairs)
    assert sum("/components/" in uri for uri in positions) > len(pairs) // 2


def _generated(filename: str) -> Callable[[], Any]:
    """A Resource-like chain of three ``__init__`` frames called from code whose file name is ``filename``."""
    source = (
        "class A:\n    def __init__(self): self.trace = probe()\n"
        "class B(A):\n    def __init__(self): super().__init__()\n"
        "class C(B):\n    def __init__(self): super().__init__()\n"
        "def user(): return C().trace\n"
    )
    namespace: dict[str, Any] = {"probe": both}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 -- test code, fixed text
    return namespace["user"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("filename", [__file__, "<generated>", ""])
def test_frames_without_a_file_have_no_position_as_in_the_sdk(filename: str) -> None:
    """Real files get a file:// URI; ``<generated>`` (not absolute) and ``""`` get an unset position, in both."""
    theirs, ours = _generated(filename)()
    assert ours == theirs
    assert ours.frames[0].HasField("pc") == (filename == __file__)
    assert ours.frames[1].pc.uri == f"file://{__file__}"  # the test function below the generated caller


def test_fewer_than_three_inits_give_an_empty_trace_as_in_the_sdk() -> None:
    theirs, ours = both()
    assert ours == theirs == source_pb2.StackTrace()


def test_install_replaces_the_sdk_capture_and_undo_restores_it(sdk_capture_restored: None) -> None:
    undo = stack_traces.install()
    assert sdk._get_stack_trace is stack_traces.stack_trace
    undo()
    assert sdk._get_stack_trace is SDK_CAPTURE


@pytest.mark.parametrize("reason", ["opted out", "other SDK", "tracebacklimit"])
def test_install_keeps_the_sdk_capture_when_it_cannot_vouch_for_the_output(
        reason: str, monkeypatch: pytest.MonkeyPatch, sdk_capture_restored: None) -> None:
    if reason == "opted out":
        monkeypatch.setenv(stack_traces.OPT_OUT_ENV, "sdk")
    elif reason == "other SDK":
        monkeypatch.setattr(stack_traces, "SDK_DIGEST", "0" * 64)
    else:
        monkeypatch.setattr(sys, "tracebacklimit", 5, raising=False)
    stack_traces.install()()
    assert sdk._get_stack_trace is SDK_CAPTURE


def test_the_program_installs_it_and_the_mock_harness_puts_the_sdks_back(
        monkeypatch: pytest.MonkeyPatch, sdk_capture_restored: None) -> None:
    calls: list[source_pb2.StackTrace] = []
    ours = stack_traces.stack_trace

    def counted() -> source_pb2.StackTrace:
        calls.append(ours())
        return calls[-1]

    monkeypatch.setattr(stack_traces, "stack_trace", counted)
    stack = MockStack(config=example_config(), secret_keys=["connectors"], stack="dev")
    try:
        run_main(stack)
    finally:
        MockStack.reset()
    assert len(calls) == len(stack.registrations)  # every resource the program registered (the Stack comes first)
    sent = sorted(r.request.stackTrace.SerializeToString() for r in stack.registrations)  # in completion order
    assert sent == sorted(trace.SerializeToString() for trace in calls)
    assert sdk._get_stack_trace is SDK_CAPTURE
