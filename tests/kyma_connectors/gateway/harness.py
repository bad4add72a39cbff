"""Real processes for the gateway tests: the loopback publisher double and ``python -m kyma_connectors.gateway``.

Each helper starts a subprocess on a free loopback port, waits until it answers, and stops it by its own pid.
Tests talk to them over real HTTP (``requests``), so they exercise exactly what a pod would run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import requests

from tests.support.paths import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(secret: str, body: bytes, event: str, delivery: str, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "42",
        "X-Hub-Signature-256": github_signature(secret, body),
        "User-Agent": "GitHub-Hookshot/test",
        **extra,
    }


class Process:
    """A subprocess with a log file; stopped by pid only."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path, **popen: Any) -> None:
        self.args, self.env, self.log, self.popen_kwargs = args, dict(env), log, popen
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.args, cwd=REPO, env=self.env, stdout=handle, stderr=subprocess.STDOUT, **self.popen_kwargs
        )
        handle.close()

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class PublisherDouble(Process):
    """``python -m devtools.doubles.publisher`` on a fixed port (so it can be stopped and started again)."""

    def __init__(self, workdir: Path, *args: str) -> None:
        """``args``: further command-line options of the double (``--backend``, ``--kubeconfig``...)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [sys.executable, "-m", "devtools.doubles.publisher", "--port", str(self.port), *args], os.environ,
            workdir / "publisher.log",
        )

    def start(self) -> None:
        super().start()
        wait_until(self._answers, 15, "the publisher double")

    def _answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/events", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def events(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/events", timeout=10)
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()
        return result

    def reset(self) -> None:
        requests.delete(f"{self.url}/events", timeout=5).raise_for_status()
        self.control(reject_types=[], fail_next=0)

    def control(self, **settings: Any) -> None:
        requests.post(f"{self.url}/control", json=settings, timeout=5).raise_for_status()

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.events()) >= count, timeout, f"{count} published events")
        return self.events()


class Gateway(Process):
    """``python -m kyma_connectors.gateway`` with ``GATEWAY_*`` settings; the spool directory survives restarts."""

    def __init__(self, workdir: Path, publisher_url: str, settings: Mapping[str, str], **popen: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.spool = workdir / "spool"
        env = {
            **os.environ,
            "GATEWAY_SOLUTION": "github",
            "GATEWAY_APPLICATION": "test-app",
            "GATEWAY_WEBHOOK_SECRETS": "test-secret",
            "GATEWAY_PUBLISHER_URL": publisher_url,
            "GATEWAY_SPOOL_DIR": str(self.spool),
            "GATEWAY_PORT": str(self.port),
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_RETRY_INITIAL_SECONDS": "0.05",
            "GATEWAY_RETRY_MAX_SECONDS": "0.5",
            "GATEWAY_SHUTDOWN_GRACE_SECONDS": "5",
            "GATEWAY_SHUTDOWN_DRAIN_SECONDS": "3",
            **settings,
        }
        super().__init__([sys.executable, "-m", "kyma_connectors.gateway"], env, workdir / "gateway.log", **popen)

    def start(self) -> None:
        super().start()
        wait_until(self._ready, 20, f"the gateway (log: {self.log})")

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"gateway exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def post(self, body: bytes, headers: Mapping[str, str], timeout: float = 10) -> requests.Response:
        return requests.post(f"{self.url}/webhook", data=body, headers=dict(headers), timeout=timeout)

    def readyz(self) -> dict[str, Any]:
        result: dict[str, Any] = requests.get(f"{self.url}/readyz", timeout=5).json()
        return result

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples from ``/metrics``: all label sets, or those carrying every given label."""
        total = 0.0
        wanted = [f'{key}="{value}"' for key, value in labels.items()]
        for line in requests.get(f"{self.url}/metrics", timeout=5).text.splitlines():
            if line.startswith(name) and (line[len(name)] in " {") and all(w in line for w in wanted):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def wait_drained(self, timeout: float = 20) -> None:
        wait_until(lambda: self.readyz().get("backlog") == 0, timeout, "an empty spool backlog")


def payload_json(data: Any) -> bytes:
    return json.dumps(data).encode()
