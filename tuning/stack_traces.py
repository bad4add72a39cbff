"""A faster, output-identical capture of the call stack the Pulumi Python SDK sends with every resource registration.

Why: since pulumi/pulumi#20430 the SDK attaches the program's call stack to each ``RegisterResource`` request
(``pulumi.runtime.resource._get_stack_trace``). It builds it with ``traceback.extract_stack()`` -- which also reads
every frame's source line through ``linecache``, a line nothing uses -- and turns each frame's file name into a
``file://`` URI with ``pathlib``, for every frame of every registration. For this program (21 resources per
connector, about 19 frames under each) that was a fifth of the CPU time of program evaluation
(bench/bench_program.py), and the SDK has no switch for it.

:func:`stack_trace` returns the same ``StackTrace`` message, frame for frame: it walks the frames directly (no
source lines) and converts each file name to its URI once per process. :func:`install` puts it in place of the SDK's
function only when the SDK module is byte for byte the one it was checked against (:data:`SDK_DIGEST`, the sha256
of ``pulumi/runtime/resource.py``); with any other SDK the SDK's own code runs, and tests/tuning say the digest must
be re-checked. ``KYMA_CONNECTORS_SDK_STACK_TRACES=sdk`` keeps the SDK's capture regardless.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import sys
from collections.abc import Callable
from types import FrameType
from typing import Final

import pulumi.runtime.resource as _sdk
from pulumi.runtime.proto import source_pb2

SDK_DIGEST: Final[str] = "2c783a7f3f6fe99794eef236472ee78015cffbcf22cd319f3aa878805edca6bc"
"""sha256 of the ``pulumi/runtime/resource.py`` (pulumi 3.272.0) whose ``_get_stack_trace`` this module reproduces."""

OPT_OUT_ENV: Final[str] = "KYMA_CONNECTORS_SDK_STACK_TRACES"
"""Set to ``sdk`` to keep the SDK's own stack capture."""

_INITS_TO_SKIP: Final[int] = 3
"""The SDK's rule: the frames up to the third ``__init__`` from the top (Resource, Custom/ComponentResource, the
concrete class) are the SDK's own; the stack trace is everything below it."""

_uris: dict[str, str | None] = {}


def _uri(filename: str) -> str | None:
    """The SDK's ``pathlib.Path(filename).as_uri()`` for a frame's file, or None where the SDK gives no position."""
    try:
        return _uris[filename]
    except KeyError:
        pass
    uri: str | None = None
    if filename:
        try:
            uri = pathlib.Path(filename).as_uri()
        except BaseException:  # the SDK's own rule: any failure means "no position"
            uri = None
    _uris[filename] = uri
    return uri


def _position(frame: FrameType) -> source_pb2.SourcePosition | None:
    line = frame.f_lineno
    uri = _uri(frame.f_code.co_filename) if line is not None else None
    return source_pb2.SourcePosition(uri=uri, line=line) if uri is not None else None


def stack_trace() -> source_pb2.StackTrace:
    """What the SDK's ``_get_stack_trace()`` returns: the frames below the third ``__init__``, innermost first."""
    frame: FrameType | None = sys._getframe(1)
    inits = 0
    while frame is not None and inits < _INITS_TO_SKIP:
        if frame.f_code.co_name == "__init__":
            inits += 1
        frame = frame.f_back
    if inits < _INITS_TO_SKIP:
        return source_pb2.StackTrace()
    frames = []
    while frame is not None:
        frames.append(source_pb2.StackFrame(pc=_position(frame)))
        frame = frame.f_back
    return source_pb2.StackTrace(frames=frames)


def sdk_digest() -> str:
    """sha256 of the installed SDK's ``pulumi/runtime/resource.py`` (compared with :data:`SDK_DIGEST`)."""
    return hashlib.sha256(pathlib.Path(_sdk.__file__).read_bytes()).hexdigest()


def install() -> Callable[[], None]:
    """Use :func:`stack_trace` for this process's registrations when it is safe to; returns the undo (for tests).

    Not installed: when opted out, when ``sys.tracebacklimit`` is set (the SDK's capture honours it), or when the
    SDK is not the checked one.
    """
    if os.environ.get(OPT_OUT_ENV) == "sdk" or hasattr(sys, "tracebacklimit") or sdk_digest() != SDK_DIGEST:
        return lambda: None
    original = _sdk._get_stack_trace
    _sdk._get_stack_trace = stack_trace

    def undo() -> None:
        _sdk._get_stack_trace = original

    return undo
