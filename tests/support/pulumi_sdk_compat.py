"""Every Pulumi SDK internal the mock harness relies on, in one module, checked against one SDK version.

Why this exists: the recording monitor (tests/support/pulumi_mocks.py) has to do what the SDK's own ``MockMonitor``
does -- decode a request, answer it, encode the answer, finish coroutines from synchronous gRPC-style methods -- and
the SDK only offers that through names it does not promise to keep (leading underscores, modules outside
``pulumi.runtime.__all__``). Kept here, an SDK upgrade has one file to re-read, and :data:`CHECKED_AGAINST` makes the
suite say so at import instead of failing somewhere deep inside a mocked program run.

What is relied upon, by SDK file (re-read these in ``.venv/lib/python3.*/site-packages/pulumi`` when bumping):

- ``runtime/mocks.py``: ``MockMonitor`` is subclassed; its ``resources`` dict is what the SDK's ``Invoke``
  (``pulumi:pulumi:getResource``), ``ReadResource`` and ``ExistsResource`` read, its ``__init__`` assigns it, and
  ``make_urn`` / ``get_registered_transforms`` build URNs and list stack transforms. ``_resolve_callbacks`` turns a
  request's transform callbacks back into the Python functions (the SDK's ``RegisterResource`` does the same).
- ``runtime/sync_await.py``: ``_sync_await`` and ``_ensure_event_loop``, how ``MockMonitor`` finishes coroutines
  (property serialization, async transforms) from its synchronous methods.
- ``runtime/stack.py``: ``run_pulumi_func``, what the language host runs a program with: it waits for outstanding
  RPCs and shuts the transform-callback servers down, so a mocked run ends like a real one.
- ``runtime/rpc.py``: ``serialize_properties``, ``deserialize_properties`` and the ``*_rpc_secret`` helpers, the wire
  encoding (secrets are structs tagged with ``rpc._special_sig_key``).
- ``runtime/proto/resource_pb2.py``: ``RegisterResourceResponse``.
- ``runtime/settings.py``: :func:`reset_runtime` relies on ``reset_options`` building a fresh ``Settings``, whose
  constructor replaces the process-wide context properties (monitor, engine, ``rpc_manager``, ``outputs``,
  callbacks) and clears ``ROOT``, the root stack resource.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

import pulumi
from pulumi.runtime import config as _config
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import rpc as _rpc
from pulumi.runtime import settings as _settings
from pulumi.runtime import stack as _stack
from pulumi.runtime import sync_await as _sync
from pulumi.runtime.proto import resource_pb2 as _resource_pb2

CHECKED_AGAINST: Final[str] = "3.272.0"
"""The pulumi SDK release whose internals (module docstring) this module was last read against."""
MODULE: Final[str] = "tests/support/pulumi_sdk_compat.py"

T = TypeVar("T")


class PulumiSdkChanged(RuntimeError):
    """The installed Pulumi SDK is not the release this module was checked against."""


def check_sdk(installed: str) -> None:
    """Refuse an SDK other than :data:`CHECKED_AGAINST`, naming the module to re-check and where the SDK lives."""
    if installed != CHECKED_AGAINST:
        raise PulumiSdkChanged(
            f"{MODULE} was checked against the pulumi SDK {CHECKED_AGAINST}, but {installed} is installed: re-read "
            f"the SDK internals its docstring lists (in {Path(pulumi.__file__).parent}), adapt the module where they "
            f"changed, then set CHECKED_AGAINST = {installed!r}"
        )


check_sdk(importlib.metadata.version("pulumi"))

Mocks = _mocks.Mocks
MockResourceArgs = _mocks.MockResourceArgs
MockCallArgs = _mocks.MockCallArgs
MockMonitor = _mocks.MockMonitor
ResourceRegistration = _mocks.MockMonitor.ResourceRegistration
"""What ``MockMonitor.resources`` maps a URN to: ``(urn, id, state)``."""


def sync_await(awaitable: Awaitable[T]) -> T:
    """Finish ``awaitable`` from synchronous code, also while the thread's loop is running (as the SDK's mocks do)."""
    return _sync._sync_await(awaitable)


def ensure_event_loop() -> None:
    """Give the current thread an event loop; deserializing resource references needs one."""
    _sync._ensure_event_loop()  # type: ignore[no-untyped-call]


def resolve_callbacks(callbacks: Iterable[Any]) -> list[Callable[..., Any]]:
    """The Python transforms behind a request's transform callbacks (found by token among the callback servers)."""
    resolved: list[Callable[..., Any]] = _mocks._resolve_callbacks(callbacks)
    return resolved


def stack_transforms(monitor: Any) -> list[Callable[..., Any]]:
    """The stack transforms registered with ``monitor`` so far (``register_stack_transform`` / resource transforms)."""
    found: list[Callable[..., Any]] = monitor.get_registered_transforms()
    return found


def run_program(program: Callable[[], None]) -> None:
    """Run ``program`` as the language host does: then wait for every RPC and stop the callback servers.

    An exception from ``program`` is raised after the runtime drained.
    """
    sync_await(_stack.run_pulumi_func(program))


def serialize(properties: Mapping[str, Any]) -> Any:
    """Properties -> the ``Struct`` the engine receives (secrets as tagged structs)."""
    return sync_await(_rpc.serialize_properties(dict(properties), {}))


def deserialize(struct: Any) -> dict[str, Any]:
    """A ``Struct`` from the wire -> properties (secrets still wrapped; see :func:`is_secret`)."""
    decoded: dict[str, Any] = _rpc.deserialize_properties(struct)
    return decoded


def is_secret(value: Any) -> bool:
    return bool(_rpc.is_rpc_secret(value))


def wrap_secret(value: Any) -> Any:
    return _rpc.wrap_rpc_secret(value)


def unwrap_secret(value: Any) -> Any:
    return _rpc.unwrap_rpc_secret(value)


def register_response(urn: str, id_: str = "", state: Any = None) -> Any:
    """The monitor's answer to ``RegisterResource``: the URN, the id and the outputs ``Struct``."""
    if state is None:
        return _resource_pb2.RegisterResourceResponse(urn=urn)
    return _resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=state)


def root_resource() -> Any:
    """The root stack resource of the current (mocked) run; ``None`` after :func:`reset_runtime`."""
    return _settings.get_root_resource()


def start_mocked_run(mocks: Any, monitor: Any, *, project: str, stack: str, preview: bool,
                     config: Mapping[str, str], secret_keys: Iterable[str]) -> None:
    """Reset the runtime, set the stack config and point the SDK at ``monitor``; a new root stack is registered."""
    reset_runtime()
    _config.set_all_config(dict(config), list(secret_keys))
    _mocks.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)


def reset_runtime() -> None:
    """Put the SDK's process-wide state back to a fresh interpreter's: no root stack, no monitor, no config, no
    pending RPCs or outputs, and an open event loop. The root tests/conftest.py calls this around every test."""
    usable_event_loop()
    _settings.reset_options(project="project", stack="stack", root_directory="root_directory",
                            organization="organization")  # the defaults settings.py starts with
    _config.set_all_config({}, [])


def usable_event_loop() -> None:
    """Give this thread an open event loop, as a fresh interpreter has one on demand.

    ``asyncio.run`` in an earlier test (the service suites run their servers that way) ends by clearing the main
    thread's loop, after which ``asyncio.get_event_loop`` raises instead of creating one; ``Output.secret`` in a
    fixture and the SDK's mock setup both need a loop.
    """
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())
