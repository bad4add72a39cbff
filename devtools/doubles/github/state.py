"""In-memory state of the GitHub double: hooks, deliveries, credentials and injected faults.

Kept apart from the HTTP layer so tests and the admin API change the world the same way (edit a hook by hand, inject
a failed delivery, make the next answer a rate limit) and so the routing code stays about HTTP only.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import itertools
import json
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import requests

FULL_SCOPES: Final[frozenset[str]] = frozenset({"repo", "admin:repo_hook", "admin:org_hook"})
MASK: Final[str] = "********"
DELIVERY_TIMEOUT_S: Final[float] = 5.0
"""GitHub waits 10 s for a receiver; a loopback receiver in a test answers in milliseconds."""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_loopback(url: str) -> bool:
    """The double only ever sends traffic to loopback receivers (127.0.0.0/8, ::1, localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Delivery:
    """One delivery attempt as GitHub lists it (``hook-delivery-item``) plus the payload to redeliver."""

    id: int
    guid: str
    event: str
    action: str | None
    status_code: int
    status: str
    delivered_at: str
    redelivery: bool
    duration: float
    payload: dict[str, Any]
    repository_id: int | None = None

    def item(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": self.delivered_at,
            "redelivery": self.redelivery,
            "duration": self.duration,
            "status": self.status,
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": None,
            "repository_id": self.repository_id,
        }


@dataclass
class Hook:
    """A repository (``scope == "repo"``) or organization hook; ``config["secret"]`` holds the real secret."""

    id: int
    scope: str
    target: str
    events: list[str]
    active: bool
    config: dict[str, Any]
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    last_response: dict[str, Any] = field(default_factory=lambda: {"code": None, "status": "unused", "message": None})
    deliveries: list[Delivery] = field(default_factory=list)

    def public_config(self) -> dict[str, Any]:
        """The config as the API shows it: the secret masked, never echoed (webhook-config-secret example)."""
        shown = {key: value for key, value in self.config.items() if key != "secret"}
        if self.config.get("secret"):
            shown["secret"] = MASK
        return shown

    def render(self, base: str) -> dict[str, Any]:
        """The ``hook`` / ``org-hook`` representation with URLs under the API base the client used."""
        prefix = f"{base}/repos/{self.target}" if self.scope == "repo" else f"{base}/orgs/{self.target}"
        url = f"{prefix}/hooks/{self.id}"
        body: dict[str, Any] = {
            "type": "Repository" if self.scope == "repo" else "Organization",
            "id": self.id,
            "name": "web",
            "active": self.active,
            "events": list(self.events),
            "config": self.public_config(),
            "updated_at": self.updated_at,
            "created_at": self.created_at,
            "url": url,
            "ping_url": f"{url}/pings",
            "deliveries_url": f"{url}/deliveries",
        }
        if self.scope == "repo":
            body["test_url"] = f"{url}/test"
            body["last_response"] = dict(self.last_response)
        return body


@dataclass
class Fault:
    """An injected answer for the next matching request(s): rate limits, secondary limits, server errors."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    count: int = 1
    method: str | None = None
    path_contains: str | None = None
    exhaust_rate_limit: bool = False
    """Answer with ``x-ratelimit-remaining: 0`` and a reset ``reset_in`` seconds ahead (primary rate limit)."""
    reset_in: int = 0


class World:
    """Everything the double knows; every method takes the lock, so handler threads see a consistent world."""

    def __init__(self, *, rate_limit: int = 5000) -> None:
        self.lock = threading.RLock()
        self.hooks: dict[int, Hook] = {}
        self.tokens: dict[str, frozenset[str]] = {}
        self.apps: dict[str, str] = {}
        """app id -> PEM public key of the App's private key."""
        self.installations: dict[str, str] = {}
        """installation id -> app id."""
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        """Method, path and status of every API request (never headers or bodies: they carry secrets)."""
        self.violations: list[str] = []
        self.rate_limit = rate_limit
        self.used: dict[str, int] = {}
        self.window_reset = int(time.time()) + 3600
        self._ids = itertools.count(1)
        self._delivery_ids = itertools.count(1000)
        self.ingress: dict[str, str] = {}
        """Hook host -> base URL it is delivered to instead (set with ``PUT /_admin/ingress``). On Kyma, the Istio
        ingress gateway routes an APIRule's host to its Service; the local cluster has no Istio, so the test that
        knows the Service's address tells the double, and deliveries go there with the hook URL's path and query."""

    # --- credentials -----------------------------------------------------------------------------------------
    def add_token(self, token: str, scopes: frozenset[str] = FULL_SCOPES) -> None:
        with self.lock:
            self.tokens[token] = frozenset(scopes)

    def add_app(self, app_id: str, public_key_pem: str, installation_id: str) -> None:
        with self.lock:
            self.apps[app_id] = public_key_pem
            self.installations[installation_id] = app_id

    # --- hooks -------------------------------------------------------------------------------------------------
    def new_hook(self, scope: str, target: str, events: list[str], active: bool, config: dict[str, Any]) -> Hook:
        with self.lock:
            hook = Hook(next(self._ids), scope, target, list(events), active, dict(config))
            self.hooks[hook.id] = hook
            return hook

    def hooks_of(self, scope: str, target: str) -> list[Hook]:
        with self.lock:
            return [h for h in self.hooks.values() if h.scope == scope and h.target.lower() == target.lower()]

    def find(self, scope: str, target: str, hook_id: int) -> Hook | None:
        with self.lock:
            hook = self.hooks.get(hook_id)
            if hook is None or hook.scope != scope or hook.target.lower() != target.lower():
                return None
            return hook

    # --- deliveries --------------------------------------------------------------------------------------------
    def deliver(
        self,
        hook: Hook,
        event: str,
        payload: dict[str, Any],
        *,
        guid: str | None = None,
        redelivery: bool = False,
    ) -> Delivery:
        """POST the payload to the hook's URL (loopback only), signed like GitHub, and record the attempt."""
        guid = guid or str(uuid.uuid4())
        started = time.monotonic()
        code, status = self._post(hook, event, guid, payload)
        delivery = Delivery(
            id=next(self._delivery_ids),
            guid=guid,
            event=event,
            action=payload.get("action") if isinstance(payload.get("action"), str) else None,
            status_code=code,
            status=status,
            delivered_at=now_iso(),
            redelivery=redelivery,
            duration=round(time.monotonic() - started, 3),
            payload=payload,
        )
        with self.lock:
            hook.deliveries.append(delivery)
            hook.last_response = {"code": code, "status": "active" if code < 400 else "failed", "message": status}
        return delivery

    def emit(self, scope: str, target: str, event: str, payload: dict[str, Any]) -> list[Delivery]:
        """Something happened on a repository or organization: deliver it to every hook that asked for it.

        As GitHub does (docs.github.com "Webhook events and payloads"; repos/create-webhook ``events``, ``*`` for
        all): an active hook subscribed to the event, or to ``*``, gets one delivery; an organization's hooks also
        get the events of its repositories. Inactive hooks get nothing.
        """
        with self.lock:
            hooks = self.hooks_of(scope, target)
            if scope == "repo":
                hooks += self.hooks_of("org", target.split("/")[0])
            chosen = [h for h in hooks if h.active and (event in h.events or "*" in h.events)]
        return [self.deliver(hook, event, payload) for hook in chosen]

    def record_delivery(self, hook: Hook, **fields: Any) -> Delivery:
        """Add a past delivery by hand (the admin API's way to simulate an outage of the receiver)."""
        code = int(fields.get("status_code", 502))
        with self.lock:
            delivery = Delivery(
                id=next(self._delivery_ids),
                guid=str(fields.get("guid") or uuid.uuid4()),
                event=str(fields.get("event", "push")),
                action=fields.get("action"),
                status_code=code,
                status=str(fields.get("status") or ("OK" if code < 400 else "failed to connect")),
                delivered_at=str(fields.get("delivered_at") or now_iso()),
                redelivery=bool(fields.get("redelivery", False)),
                duration=float(fields.get("duration", 0.01)),
                payload=dict(fields.get("payload") or {"zen": "injected by the double"}),
            )
            hook.deliveries.append(delivery)
            return delivery

    def route(self, url: str) -> str | None:
        """Where a delivery to ``url`` goes: through the ingress table, else itself if loopback, else nowhere."""
        parts = urllib.parse.urlsplit(url)
        with self.lock:
            base = self.ingress.get(parts.hostname or "")
        if base is not None:
            target = base.rstrip("/") + (parts.path or "/")
            return f"{target}?{parts.query}" if parts.query else target
        return url if is_loopback(url) else None  # the double never sends traffic off this machine

    def _post(self, hook: Hook, event: str, guid: str, payload: dict[str, Any]) -> tuple[int, str]:
        routed = self.route(str(hook.config.get("url", "")))
        if not hook.active:
            return 0, "hook is inactive"
        if routed is None:
            return 502, "failed to connect"
        url = routed
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/double",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid,
            "X-GitHub-Hook-ID": str(hook.id),
            "X-GitHub-Hook-Installation-Target-Type": "repository" if hook.scope == "repo" else "organization",
        }
        secret = hook.config.get("secret")
        if secret:
            digest = hmac.new(str(secret).encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature-256"] = f"sha256={digest}"
        try:
            answer = requests.post(url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT_S)
        except requests.RequestException:
            return 502, "failed to connect"
        return answer.status_code, answer.reason or "OK"

    # --- faults and rate limits --------------------------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method and fault.method != method:
                    continue
                if fault.path_contains and fault.path_contains not in path:
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
            return None

    def spend(self, principal: str) -> dict[str, str]:
        """Count one request against the principal's hourly budget and return the rate-limit headers."""
        with self.lock:
            now = int(time.time())
            if now >= self.window_reset:
                self.used.clear()
                self.window_reset = now + 3600
            self.used[principal] = self.used.get(principal, 0) + 1
            used = self.used[principal]
            return rate_headers(self.rate_limit, max(self.rate_limit - used, 0), used, self.window_reset)


def rate_headers(limit: int, remaining: int, used: int, reset: int) -> dict[str, str]:
    """The rate-limit headers of every REST answer (docs.github.com, "Rate limits for the REST API")."""
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-used": str(used),
        "x-ratelimit-reset": str(reset),
        "x-ratelimit-resource": "core",
    }
