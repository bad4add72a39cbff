"""``WebhookRegistration``: the webhook on the solution's side (GitHub hook, Qualtrics subscriptions) as a resource.

A Pulumi *dynamic* resource, so ``pulumi preview`` shows hook changes, ``refresh`` sees hooks edited or deleted by
hand, ``up`` repairs them and ``destroy`` removes them. The provider class here is deliberately thin: Pulumi pickles
it with dill into state (``__provider``), and a class that only delegates to the importable
:mod:`kyma_connectors.hooks` package pickles by reference -- small, deterministic, and loadable by a fresh
interpreter in the provider host.

Secrets: ``secret``, ``token`` and ``private_key`` are wrapped in ``Output.secret`` here whatever the caller passed,
and listed in ``additional_secret_outputs``; the engine keeps them encrypted in state. The provider never logs, and
its error messages are built without (and scrubbed of) secret values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from kyma_connectors.hooks import diff, lifecycle, spec

PROVIDER_VERSION: Final[str] = "1"
"""Bump when the provider's behaviour changes: the changed input makes every registration update once."""
MODULE: Final[str] = "kyma-connectors"
OUTPUTS: Final[tuple[str, ...]] = ("hook_id", "ping_status", "last_response", "content_type", "insecure_ssl")
SECRET_OUTPUTS: Final[list[str]] = list(spec.SECRET_FIELDS)


@dataclass(frozen=True, kw_only=True)
class WebhookRegistrationArgs:
    """Inputs of :class:`WebhookRegistration`."""

    solution: pulumi.Input[str]
    """``github`` or ``qualtrics``."""
    api_url: pulumi.Input[str]
    """``https://api.github.com``, a GHES ``https://HOST/api/v3``, or ``https://DC.qualtrics.com/API/v3``."""
    target: pulumi.Input[str]
    """GitHub ``owner/repo`` or ``org:NAME``; Qualtrics ``""`` (subscriptions are brand-wide)."""
    url: pulumi.Input[str]
    """Payload URL: the event gateway's public ``/webhook`` URL."""
    events: pulumi.Input[Sequence[str]]
    """Solution-native event names (GitHub events, Qualtrics topics); the catalog's list by default."""
    secret: pulumi.Input[str]
    """Webhook secret (HMAC key) the gateway verifies with."""
    active: pulumi.Input[bool] = True
    """GitHub: deliver events (False pauses the hook without deleting it)."""
    token: pulumi.Input[str] | None = None
    """GitHub PAT (``admin:repo_hook``/``admin:org_hook``) or Qualtrics API token."""
    app_id: pulumi.Input[str] | None = None
    """GitHub App id -- with ``installation_id`` and ``private_key``, instead of ``token``."""
    installation_id: pulumi.Input[str] | None = None
    """The App's installation id on the target's account."""
    private_key: pulumi.Input[str] | None = None
    """The App's PEM private key."""
    managed_events: bool = False
    """``events: subscribed``: the hook reconciler owns ``events`` and ``active`` -- set on create (the hook starts
    inactive), then never diffed, refreshed into inputs or reverted (docs/subscriptions.md)."""


class WebhookRegistrationProvider(ResourceProvider):
    """CRUD of one webhook; every method builds its clients afresh from the properties it is given."""

    serialize_as_secret_always = False
    """Nothing is captured (the class pickles by reference, see the module docstring), so ``__provider`` need not be a
    secret; keeping it plain avoids the cost of secret provider blobs (pulumi/pulumi#15538, #15539)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = dict(news)
        if inputs.get("active") is None:
            inputs["active"] = True
        if inputs.get("target") is None:
            inputs["target"] = ""
        return CheckResult(inputs, [CheckFailure(problem.path, problem.message) for problem in spec.problems(inputs)])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """No change -> "none" (event order, name case, a trailing slash are not changes); a change -> "unknown".

        Why "unknown" rather than "some": the Python dynamic-provider host cannot pass changed keys to the engine, and
        on "unknown" the engine diffs old against new inputs itself and names the changed properties in the preview
        (pkg/resource/deploy/step_generator.go ``diffResource``). Every change we detect is visible there, because
        ``read`` records drift in the inputs. ``replaces`` and delete-before-replace are honoured either way.
        """
        found = diff.changes(olds, news)
        replaces = sorted({c.field for c in found if c.kind == "replace"})
        # Delete first on replace: a new hook with the same payload URL would *adopt* the old one, and the old one's
        # delete would then remove the adopted hook.
        return DiffResult(changes=None if found else False, replaces=replaces, stables=[], delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        observed = lifecycle.create(spec.parse(props))
        return CreateResult(str(observed["hook_id"]), {**props, **observed})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        live = lifecycle.read(str(props.get("hook_id") or id_), spec.parse(_inputs(props)))
        if live is None:
            return ReadResult("", {})  # gone: refresh drops it, the next up creates it again
        outs = {**props, **live}
        owned = ("url",) if props.get("managed_events") else ("url", "events", "active")
        refreshed: dict[str, Any] = {k: live[k] for k in owned if k in live}
        # Hand-made changes to settings we own are not inputs; record them as such so the preview names them.
        refreshed |= {k: live[k] for k, want in diff.OWNED_CONFIG.items() if live.get(k) not in (None, want)}
        inputs = {**_inputs(props), **refreshed}
        return ReadResult(id_, outs, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        rotate = any(olds.get(k) != news.get(k) for k in ("secret", "url"))  # Qualtrics: new shared key or URL
        observed = lifecycle.update(str(olds.get("hook_id") or id_), spec.parse(news), rotate=rotate,
                                    previous_url=olds.get("url"))
        return UpdateResult({**news, **observed})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        lifecycle.delete(str(props.get("hook_id") or id_), spec.parse(_inputs(props)))


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    """The input half of a state dict (outputs and the provider blob removed)."""
    return {k: v for k, v in props.items() if k not in OUTPUTS and not k.startswith("__")}


def _is_plain(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_is_plain(item) for item in value)
    return not isinstance(value, pulumi.Output)


def _secret(value: pulumi.Input[str] | None) -> pulumi.Input[str] | None:
    return None if value is None else pulumi.Output.secret(value)


class WebhookRegistration(pulumi.dynamic.Resource, module=MODULE, name="WebhookRegistration"):
    """The webhook of one connector on the solution's side; see docs/webhook-registration.md."""

    hook_id: pulumi.Output[str]
    """GitHub hook id; Qualtrics: comma-separated subscription ids, one per topic."""
    ping_status: pulumi.Output[str]
    """``ok``/``failed``/``pending``/``error`` (GitHub ping after create/update), ``inactive``, ``unsupported``."""
    last_response: pulumi.Output[dict[str, Any]]
    """``{code, status, message}`` of the latest delivery, as GitHub reports it."""

    def __init__(self, name: str, args: WebhookRegistrationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        values = {k: v for k, v in vars(args).items() if v is not None}
        plain = {k: v for k, v in values.items() if _is_plain(v)}
        found = spec.problems(plain)
        if len(plain) < len(values):  # some inputs are Outputs: judge what is visible now, check() does the rest
            found = [problem for problem in found if problem.path in plain]
        if found:
            raise ValueError(f"WebhookRegistration {name!r}: " + "; ".join(map(str, found)))
        props: dict[str, Any] = {
            "solution": args.solution,
            "api_url": args.api_url,
            "target": args.target,
            "url": args.url,
            "events": args.events,
            "active": args.active,
            "secret": _secret(args.secret),
            "token": _secret(args.token),
            "app_id": args.app_id,
            "installation_id": args.installation_id,
            "private_key": _secret(args.private_key),
            "managed_events": args.managed_events,
            "provider_version": PROVIDER_VERSION,
            **dict.fromkeys(OUTPUTS),
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        super().__init__(WebhookRegistrationProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_opts))
