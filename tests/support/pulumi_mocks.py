"""Recording Pulumi mocks: run a program or a component under ``pulumi.runtime.set_mocks`` and keep what it registered.

Why our own monitor: the SDK's ``MockMonitor`` hands ``Mocks.new_resource`` only type, name and inputs, so parents,
``depends_on``, ``additional_secret_outputs`` and the secrecy of inputs are lost -- exactly what the component tests
must assert. ``RecordingMonitor`` keeps the whole ``RegisterResourceRequest`` as a :class:`Registration` and, like the
engine (not the SDK's mock), also

- runs resource transforms (``opts.transforms``) and stack transforms (``pulumi.runtime.register_stack_transform``) on
  the registered properties, own transforms first, then the stack's, in registration order; their returned *options*
  are ignored (the mock cannot re-parent), their *properties* are what gets recorded;
- marks the outputs named in ``additional_secret_outputs`` secret, so ``RandomPassword.result`` and a k8s
  ``Secret``'s ``stringData`` come back as secret Outputs the way they do from a real deployment.

``RecordingMocks`` answers with the inputs as outputs, an id shaped like the provider's (``namespace/name`` for
Kubernetes objects), and the few outputs providers compute that programs read: ``RandomPassword.result`` (a value
derived from the resource name, never a real secret), the WebhookRegistration outputs and the auto-generated name of a
Secret registered without ``metadata.name``. Tests add or replace
answers per type token with ``outputs={type: fn(MockResourceArgs) -> dict}``.

Usage::

    stack = MockStack(config={"clusterDomain": "example.org"}, secret_keys=["connectors"])
    app = stack.run(lambda: KymaApplication("gh", KymaApplicationArgs(...)))
    reg = stack.one("kubernetes:applicationconnector.kyma-project.io/v1alpha1:Application")
    assert reg.parent_type == "kyma-connectors:index:KymaApplication"
    assert stack.is_secret(app.some_output)
"""

from __future__ import annotations

import hashlib
import inspect
import json
import runpy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final, TypeVar

import pulumi
import yaml

from tests.support import pulumi_sdk_compat as sdk

PROJECT: Final[str] = "kyma-connectors"
"""The project name from Pulumi.yaml; config keys without a namespace are put under it."""

T = TypeVar("T")
OutputsFn = Callable[[sdk.MockResourceArgs], Mapping[str, Any]]


@dataclass(frozen=True, eq=False)
class Registration:
    """One ``RegisterResource`` call as the engine would have received it (after transforms).

    It keeps the request itself and decodes on first use: a run registers hundreds of resources and most tests look at
    a few.
    """

    request: Any = field(repr=False)
    """The ``RegisterResourceRequest`` protobuf message."""
    urn: str
    id: str
    response: Any = field(repr=False)
    """The ``object`` Struct the mock answered with (the resource's outputs)."""
    transformed: dict[str, Any] | None = field(default=None, repr=False)
    """The properties after transforms, when transforms ran (the request holds them before)."""

    @property
    def type(self) -> str:
        return str(self.request.type)

    @property
    def name(self) -> str:
        return str(self.request.name)

    @property
    def parent(self) -> str:
        """The parent's URN; the stack's URN for top-level resources."""
        return str(self.request.parent)

    @property
    def custom(self) -> bool:
        return bool(self.request.custom)

    @cached_property
    def dependencies(self) -> frozenset[str]:
        """URNs from ``depends_on`` and from Outputs used as inputs."""
        return frozenset(self.request.dependencies)

    @cached_property
    def property_dependencies(self) -> Mapping[str, frozenset[str]]:
        return {k: frozenset(v.urns) for k, v in self.request.propertyDependencies.items()}

    @property
    def additional_secret_outputs(self) -> tuple[str, ...]:
        return tuple(self.request.additionalSecretOutputs)

    @property
    def delete_before_replace(self) -> bool:
        return bool(self.request.deleteBeforeReplace)

    @property
    def ignore_changes(self) -> tuple[str, ...]:
        return tuple(self.request.ignoreChanges)

    @property
    def replace_on_changes(self) -> tuple[str, ...]:
        return tuple(self.request.replaceOnChanges)

    @property
    def provider(self) -> str:
        return str(self.request.provider)

    @cached_property
    def raw_inputs(self) -> dict[str, Any]:
        """Input properties as deserialized (secrets still wrapped); see :attr:`inputs`."""
        if self.transformed is not None:
            return self.transformed
        return sdk.deserialize(self.request.object)

    @cached_property
    def raw_outputs(self) -> dict[str, Any]:
        """Output properties as deserialized (secrets still wrapped); see :attr:`outputs`."""
        return sdk.deserialize(self.response)

    @cached_property
    def _unwrapped(self) -> tuple[dict[str, Any], frozenset[str]]:
        secrets: set[str] = set()
        return _plain(self.raw_inputs, "", secrets), frozenset(secrets)

    @property
    def inputs(self) -> dict[str, Any]:
        """Input properties with secrets unwrapped (plain values): compare them freely, never print them."""
        return self._unwrapped[0]

    @property
    def secret_paths(self) -> frozenset[str]:
        """Dotted paths of input values that were secret Outputs (``stringData``, ``spec.template``...)."""
        return self._unwrapped[1]

    @cached_property
    def outputs(self) -> dict[str, Any]:
        """Output properties the mock answered with, secrets unwrapped."""
        plain: dict[str, Any] = _plain(self.raw_outputs, "", set())
        return plain

    @property
    def parent_type(self) -> str:
        """The parent's type token (last ``$`` segment of the parent URN's type)."""
        return _urn_type(self.parent).split("$")[-1] if self.parent else ""

    @property
    def qualified_type(self) -> str:
        """The URN's ``Parent$...$Type`` chain, e.g. ``kyma-connectors:index:Connector$kubernetes:core/v1:Secret``."""
        return _urn_type(self.urn)

    @property
    def metadata(self) -> dict[str, Any]:
        value = self.inputs.get("metadata") or {}
        return value if isinstance(value, dict) else {}

    @property
    def k8s_name(self) -> str | None:
        return self.metadata.get("name")

    @property
    def k8s_namespace(self) -> str | None:
        return self.metadata.get("namespace")

    def is_secret(self, path: str) -> bool:
        """True when the input at ``path`` (or one of its ancestors) was a secret."""
        return any(path == p or path.startswith(p + ".") for p in self.secret_paths)

    def k8s_object(self) -> dict[str, Any]:
        """The object as a Kubernetes API server would receive it (for CRD validation)."""
        return {k: v for k, v in self.inputs.items() if not k.startswith("__")}

    def depends_on(self, other: Registration) -> bool:
        return other.urn in self.dependencies or any(other.urn in deps for deps in self.property_dependencies.values())


def _urn_type(urn: str) -> str:
    parts = urn.split("::")
    return parts[2] if len(parts) > 3 else ""


def _plain(value: Any, path: str, secrets: set[str]) -> Any:
    """Unwrap RPC secret markers recursively, remembering where they were."""
    if sdk.is_secret(value):
        secrets.add(path)
        return _plain(sdk.unwrap_secret(value), path, secrets)
    if isinstance(value, dict):
        return {k: _plain(v, f"{path}.{k}" if path else str(k), secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return value


def _fake_secret(name: str, length: int = 32) -> str:
    """A stable stand-in for a generated secret: derived from the resource name, so tests can compare runs."""
    return hashlib.sha256(f"mock-secret/{name}".encode()).hexdigest()[:length]


def _random_password(args: sdk.MockResourceArgs) -> Mapping[str, Any]:
    length = int(args.inputs.get("length") or 32)
    return {"result": _fake_secret(args.name, length), "bcryptHash": "mock"}


def _webhook_registration(args: sdk.MockResourceArgs) -> Mapping[str, Any]:
    digest = hashlib.sha256(f"hook/{args.name}".encode()).hexdigest()
    return {
        "hook_id": str(int(digest[:8], 16)),
        "ping_status": "ok",
        "last_response": {"code": 200, "status": "active", "message": "OK"},
    }


def _k8s_autoname(args: sdk.MockResourceArgs) -> Mapping[str, Any]:
    """pulumi-kubernetes auto-naming: an object without ``metadata.name`` gets ``<logical name>-<8 hex>``."""
    meta = args.inputs.get("metadata")
    if not isinstance(meta, Mapping) or meta.get("name"):
        return {}
    return {"metadata": {**meta, "name": f"{args.name}-{hashlib.sha256(args.name.encode()).hexdigest()[:8]}"}}


DEFAULT_OUTPUTS: Final[dict[str, OutputsFn]] = {
    "kubernetes:core/v1:Secret": _k8s_autoname,
    "random:index/randomPassword:RandomPassword": _random_password,
    "pulumi-python:dynamic/kyma-connectors:WebhookRegistration": _webhook_registration,
}


class RecordingMocks(sdk.Mocks):
    """Answers resource registrations with their inputs plus provider-computed outputs (see module docstring)."""

    def __init__(self, outputs: Mapping[str, OutputsFn] | None = None) -> None:
        self.outputs: dict[str, OutputsFn] = {**DEFAULT_OUTPUTS, **(outputs or {})}

    def new_resource(self, args: sdk.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        extra = self.outputs.get(args.typ)
        if extra is not None:
            state.update(extra(args))
        meta = sdk.unwrap_secret(state.get("metadata")) if args.typ.startswith("kubernetes:") else None
        return self.resource_id(args.typ, args.name, meta if isinstance(meta, Mapping) else {}), state

    def call(self, args: sdk.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None

    @staticmethod
    def resource_id(type_: str, name: str, metadata: Mapping[str, Any]) -> str:
        """The id a provider would give: ``namespace/name`` (or ``name``) for Kubernetes objects."""
        if type_.startswith("kubernetes:"):
            k8s_name = metadata.get("name") or name
            return f"{metadata['namespace']}/{k8s_name}" if metadata.get("namespace") else str(k8s_name)
        return f"{name}-id"


class RecordingMonitor(sdk.MockMonitor):
    """A MockMonitor that records every registration in full and runs transforms (see module docstring).

    Outputs are the inputs, as the SDK's mocks answer: each request is decoded, answered by ``new_resource`` and
    encoded again, the SDK mock's way.
    """

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self._synced = 0

    @property
    def resources(self) -> dict[str, sdk.ResourceRegistration]:
        """The SDK mock's view (``getResource`` invokes, reads), filled from the registrations when first asked."""
        for reg in self.registrations[self._synced:]:
            self._resources[reg.urn] = sdk.ResourceRegistration(reg.urn, reg.id, reg.raw_outputs)
        self._synced = len(self.registrations)
        return self._resources

    @resources.setter
    def resources(self, value: dict[str, sdk.ResourceRegistration]) -> None:
        self._resources = value

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return sdk.register_response(urn)
        transforms = [*sdk.resolve_callbacks(request.transforms), *sdk.stack_transforms(self)]
        sdk.ensure_event_loop()
        inputs = self._transformed(transforms, request, sdk.deserialize(request.object))
        args = sdk.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
        )
        answered_id, state = self.mocks.new_resource(args)
        for key in request.additionalSecretOutputs:
            if key in state:
                state[key] = sdk.wrap_secret(state[key])
        obj_proto = sdk.serialize(state)
        self.registrations.append(Registration(request=request, urn=urn, id=answered_id or "", response=obj_proto,
                                               transformed=inputs if transforms else None))
        return sdk.register_response(urn, answered_id or "", obj_proto)

    def _transformed(self, transforms: list[Any], request: Any, props: dict[str, Any]) -> dict[str, Any]:
        for transform in transforms:
            result = transform(pulumi.ResourceTransformArgs(
                custom=bool(request.custom), type_=request.type, name=request.name, props=props,
                opts=pulumi.ResourceOptions(),
            ))
            if inspect.isawaitable(result):
                result = sdk.sync_await(result)
            if result is not None:
                props = dict(result.props)
        return props


def stack_file_config(path: str | Path) -> dict[str, Any]:
    """The ``config:`` block of a ``Pulumi.<stack>.yaml`` as MockStack config (full keys, structured values)."""
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return dict(document.get("config") or {})


EXAMPLE_STACK: Final[Path] = Path(__file__).resolve().parents[2] / "Pulumi.dev.yaml"
PROGRAM: Final[Path] = Path(__file__).resolve().parents[2] / "__main__.py"
EXAMPLE_TOKENS: Final[dict[str, str]] = {"github": "ghp_example-token-value", "qualtrics": "qualtrics-example-token"}
"""Stand-ins for the tokens Pulumi.dev.yaml tells users to set with ``pulumi config set --secret``."""


def example_config() -> dict[str, Any]:
    """Pulumi.dev.yaml's config with the documented secrets set, as ``pulumi config set --secret --path`` would.

    Use with ``secret_keys=["connectors"]``: setting a secret leaf makes Pulumi hold the whole key encrypted.
    """
    config = stack_file_config(EXAMPLE_STACK)
    for connector in config[f"{PROJECT}:connectors"]:
        connector.setdefault("credentials", {})["token"] = EXAMPLE_TOKENS[connector["solution"]]
    return config


def run_main(stack: MockStack) -> dict[str, Any]:
    """Run the Pulumi program (``__main__.py``) on ``stack``; returns the program's globals."""
    return stack.run(lambda: runpy.run_path(str(PROGRAM)))


class MockStack:
    """One mocked ``pulumi up`` (or preview): config in, program run, registrations and stack outputs out.

    :meth:`run` starts from a reset runtime (root stack, config, RPC bookkeeping), and the root tests/conftest.py resets
    it again around every test, so runs do not leak into each other; create a fresh instance per program run.
    """

    def __init__(
        self,
        *,
        config: Mapping[str, Any] | None = None,
        secret_keys: Iterable[str] = (),
        project: str = PROJECT,
        stack: str = "test",
        preview: bool = False,
        outputs: Mapping[str, OutputsFn] | None = None,
    ) -> None:
        self.project = project
        self.stack = stack
        self.preview = preview
        self.config = {self._key(k): v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()}
        self.secret_keys = [self._key(k) for k in secret_keys]
        self.mocks = RecordingMocks(outputs)
        self.monitor = RecordingMonitor(self.mocks)

    def _key(self, key: str) -> str:
        return key if ":" in key else f"{self.project}:{key}"

    @property
    def registrations(self) -> list[Registration]:
        return list(self.monitor.registrations)

    def run(self, program: Callable[[], T]) -> T:
        """Run ``program`` under the mocks, wait for every registration, and return what it returned.

        Exceptions raised by the program propagate after the runtime drained; :attr:`registrations` still shows what
        was registered before the failure.
        """
        sdk.usable_event_loop()
        sdk.start_mocked_run(self.mocks, self.monitor, project=self.project, stack=self.stack, preview=self.preview,
                             config=self.config, secret_keys=self.secret_keys)
        box: list[T] = []
        sdk.run_program(lambda: box.append(program()))
        return box[0]

    # --- reading results -------------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """The value of an Output (or plain value) after the run; ``None`` for an unknown in preview."""
        return sdk.sync_await(pulumi.Output.from_input(value).future())

    def is_secret(self, value: Any) -> bool:
        return bool(sdk.sync_await(pulumi.Output.from_input(value).is_secret()))

    @property
    def exports(self) -> dict[str, Any]:
        """The stack outputs (``pulumi.export``), unresolved."""
        root = sdk.root_resource()
        return dict(getattr(root, "outputs", {}) or {})

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.monitor.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        """The single registration of ``type_`` (and logical ``name``); fails listing what exists otherwise."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, got {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.monitor.registrations if r.urn == urn)

    def children(self, parent: Registration) -> list[Registration]:
        return [r for r in self.monitor.registrations if r.parent == parent.urn]

    def descendants(self, parent: Registration) -> list[Registration]:
        out: list[Registration] = []
        for child in self.children(parent):
            out += [child, *self.descendants(child)]
        return out

    def kubernetes(self) -> list[Registration]:
        """Every Kubernetes object registered (provider resources excluded)."""
        return [r for r in self.monitor.registrations if r.type.startswith("kubernetes:") and r.custom]

    def custom_resources(self) -> list[Registration]:
        """Kubernetes objects whose API group a CRD defines (dotted groups outside ``*.k8s.io``)."""
        groups = [(r, r.type.split(":")[1].rpartition("/")[0]) for r in self.kubernetes()]
        return [r for r, group in groups if "." in group and not group.endswith("k8s.io")]
