"""Find a connector's WebhookRegistrations in a Pulumi stack's exported state.

Why the export: it is the one place that holds the hook id *and* the credentials the program used, and reading it
needs nothing but the operator's normal access to the stack (``pulumi stack export --show-secrets`` decrypts with
the stack's secrets provider). Secret values arrive wrapped (``{"4dabf...": "1b470...", "plaintext": "<json>"}``)
and are unwrapped in memory only.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kyma_connectors.cli.errors import StackError
from kyma_connectors.hooks.spec import HookSpec, parse

TYPE: Final[str] = "pulumi-python:dynamic/kyma-connectors:WebhookRegistration"
SECRET_SIG: Final[str] = "4dabf18193072939515e22adb298388d"  # noqa: S105 - Pulumi's envelope key, not a password
SECRET_MARK: Final[str] = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 - the value marking a secret envelope
EXPORT_TIMEOUT_S: Final[float] = 120.0


@dataclass(frozen=True)
class Registration:
    """One deployed webhook: its logical name, hook id and the spec (with credentials) to reach it."""

    name: str
    hook_id: str
    spec: HookSpec


def export_stack(stack: str, *, cwd: Path, pulumi: str | None = None) -> dict[str, Any]:
    """``pulumi stack export --stack STACK --show-secrets`` in ``cwd``; its JSON document."""
    binary = pulumi or os.environ.get("PULUMI", "pulumi")
    command = [binary, "stack", "export", "--stack", stack, "--show-secrets"]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(
            f"cannot run {binary!r} stack export ({type(exc).__name__}): is the Pulumi CLI on PATH?"
        ) from exc
    if done.returncode != 0:
        raise StackError(f"pulumi stack export --stack {stack} failed: {done.stderr.strip()[-500:]}")
    return load_export(done.stdout, source=f"stack {stack}")


def load_export(text: str, *, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise StackError(f"{source}: not a Pulumi state export (invalid JSON)") from exc
    if not isinstance(document, dict) or not isinstance(document.get("deployment"), dict):
        raise StackError(f"{source}: not a Pulumi state export (no 'deployment')")
    return document


def unwrap(value: Any) -> Any:
    """Replace exported secret envelopes by their plaintext, recursively."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_MARK:
            if "plaintext" not in value:
                raise StackError("the export holds encrypted secrets: export with --show-secrets")
            return json.loads(value["plaintext"])
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


def belongs_to(resource: dict[str, Any], name: str, connector: str) -> bool:
    """The parent Connector's name decides when the export names a parent; else the ``<connector>-hook`` prefix."""
    parent = str(resource.get("parent") or "")
    if "Connector::" in parent:
        return parent.rsplit("::", 1)[-1] == connector
    return name == f"{connector}-hook" or name.startswith(f"{connector}-hook-")


def registrations(document: dict[str, Any], connector: str) -> list[Registration]:
    """The connector's WebhookRegistrations: logical name ``<connector>-hook`` or ``<connector>-hook-<target>``."""
    resources = document["deployment"].get("resources") or []
    found: list[Registration] = []
    for resource in resources:
        if resource.get("type") != TYPE:
            continue
        name = str(resource.get("urn", "")).rsplit("::", 1)[-1]
        if not belongs_to(resource, name, connector):
            continue
        outputs = unwrap(resource.get("outputs") or {})
        hook_id = str(outputs.get("hook_id") or resource.get("id") or "")
        fields = {k: v for k, v in outputs.items() if not k.startswith("__")}
        found.append(Registration(name, hook_id, parse(fields)))
    if not found:
        names = sorted(str(r.get("urn", "")).rsplit("::", 1)[-1] for r in resources if r.get("type") == TYPE)
        raise StackError(f"no webhook of connector {connector!r} in the stack (webhooks: {', '.join(names) or 'none'})")
    return found
