"""Shared test parts for the webhook provider: the GitHub/Qualtrics doubles, a loopback receiver, a fake clock.

Plain helpers (context managers) rather than fixtures, so test modules in other folders build their own fixtures from
them without a shared conftest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.doubles.github import GitHubDouble
from devtools.doubles.qualtrics import QualtricsDouble
from kyma_connectors.hooks.lifecycle import Context
from kyma_connectors.hooks.spec import HookSpec
from kyma_connectors.hooks.transport import RetryPolicy

TOKEN: Final[str] = "ghp_testtoken0123456789"
SECRET: Final[str] = "It's a Secret to Everybody"
QTOKEN: Final[str] = "qualtrics-token-0123456789"


@dataclass
class FakeClock:
    """Time that only moves when someone sleeps; records every sleep."""

    start: float = field(default_factory=time.time)
    slept: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.start + sum(self.slept)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def fast_context(clock: FakeClock | None = None, **policy: Any) -> Context:
    """A Context on a fake clock with short timeouts."""
    return Context(RetryPolicy(timeout=(2.0, 5.0), **policy), clock or FakeClock())


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A loopback webhook receiver (the gateway's stand-in): records deliveries, answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[Received] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append(Received(dict(self.headers.items()), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def github_double() -> Iterator[GitHubDouble]:
    """A GitHub double accepting :data:`TOKEN`; fails the test if anything broke the published contract."""
    with GitHubDouble(tokens=(TOKEN,)) as double:
        yield double
        assert double.world.violations == []


@contextmanager
def qualtrics_double(page_size: int = 100) -> Iterator[QualtricsDouble]:
    with QualtricsDouble(tokens=(QTOKEN,), page_size=page_size) as double:
        yield double
        assert double.brand.violations == []


@contextmanager
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def github_spec(api_url: str, url: str, **overrides: Any) -> HookSpec:
    fields: dict[str, Any] = {
        "solution": "github",
        "api_url": api_url,
        "target": "octo/hello",
        "url": url,
        "events": ("push", "issues"),
        "secret": SECRET,
        "token": TOKEN,
    }
    return HookSpec(**(fields | overrides))


def qualtrics_spec(api_url: str, url: str, **overrides: Any) -> HookSpec:
    fields: dict[str, Any] = {
        "solution": "qualtrics",
        "api_url": api_url,
        "target": "",
        "url": url,
        "events": ("surveyengine.completedResponse", "controlpanel.activateSurvey"),
        "secret": SECRET,
        "token": QTOKEN,
    }
    return HookSpec(**(fields | overrides))


def provider_inputs(api_url: str, payload_url: str, **changes: Any) -> dict[str, Any]:
    """WebhookRegistration inputs as the engine hands them to the provider (secrets unwrapped, ``__provider`` set)."""
    from pulumi.dynamic.dynamic import serialize_provider

    from components.webhook_registration import PROVIDER_VERSION, WebhookRegistrationProvider

    props: dict[str, Any] = {
        "solution": "github",
        "api_url": api_url,
        "target": "octo/hello",
        "url": payload_url,
        "events": ["push", "issues"],
        "active": True,
        "secret": SECRET,
        "token": TOKEN,
        "provider_version": PROVIDER_VERSION,
        "__provider": serialize_provider(WebhookRegistrationProvider()),
    }
    return props | changes


def admin(double_url: str, method: str, path: str, body: Any = None) -> Any:
    """Call a double's admin API (as a person in GitHub's UI would act)."""
    answer = requests.request(method, f"{double_url}/_admin/{path}", json=body, timeout=5)
    answer.raise_for_status()
    return answer.json() if answer.content else None


def rsa_key_pair() -> tuple[str, str]:
    """A fresh RSA key for the App JWT flow: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
