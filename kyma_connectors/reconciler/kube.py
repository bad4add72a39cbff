"""The reconciler's Kubernetes calls: list and watch Subscriptions cluster-wide, merge-patch its status ConfigMap.

Those three verbs are all its RBAC grants (``list``/``watch`` on ``subscriptions.eventing.kyma-project.io``, and
``get``/``patch`` on one named ConfigMap), so nothing here may need more. A watch follows the API server's contract
(``?watch=1&resourceVersion=...&allowWatchBookmarks=true``; 410 Gone or an ``ERROR`` event means list again),
with a server-side timeout so a stop request is honoured within seconds.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests

from kyma_connectors.core import kube as connection
from kyma_connectors.reconciler.errors import KubeError, SettingsError, WatchExpiredError

SUBSCRIPTIONS: Final[str] = "/apis/eventing.kyma-project.io/v1alpha2/subscriptions"
TIMEOUT: Final[tuple[float, float]] = (5.0, 30.0)


@dataclass(frozen=True)
class WatchEvent:
    """One watch event: ``ADDED``/``MODIFIED``/``DELETED``/``BOOKMARK`` and the object."""

    kind: str
    obj: dict[str, Any]


class Kube:
    """An authenticated session on the API server (in-cluster service account, or ``KUBECONFIG``)."""

    def __init__(self, kubeconfig: Path | None, env: Mapping[str, str]) -> None:
        try:
            conn = connection.from_kubeconfig(kubeconfig) if kubeconfig else connection.in_cluster(env)
        except connection.KubeConfigError as exc:
            raise SettingsError(exc.problems) from None
        self.server = conn.server
        self.session = connection.KubeSession(conn)
        self._watch: requests.Response | None = None
        self._stopping = False

    def close(self) -> None:
        self.stop_watch()
        self.session.close()

    def stop_watch(self) -> None:
        """Unblock a running :meth:`watch` (called from another thread, or a signal handler, on shutdown).

        The socket is shut down rather than the response closed: closing takes the reader's buffer lock, which the
        watch thread holds while it waits in ``recv`` -- a shutdown makes that ``recv`` return instead.
        """
        self._stopping = True
        answer = self._watch
        connection = getattr(answer.raw, "connection", None) if answer is not None else None
        sock = getattr(connection, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def list_subscriptions(self) -> tuple[list[dict[str, Any]], str]:
        """Every Subscription in every namespace, and the list's resourceVersion to watch from."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 500}
        while True:
            body = self._json("GET", SUBSCRIPTIONS, params=params)
            items += [i for i in body.get("items") or [] if isinstance(i, dict)]
            meta = body.get("metadata") or {}
            if not meta.get("continue"):
                return items, str(meta.get("resourceVersion", ""))
            params = {"limit": 500, "continue": meta["continue"]}

    def watch(self, resource_version: str, timeout_seconds: int) -> Iterator[WatchEvent]:
        """Changes after ``resource_version`` until the server ends the watch (``timeout_seconds``) or it fails."""
        params = {"watch": "1", "resourceVersion": resource_version, "allowWatchBookmarks": "true",
                  "timeoutSeconds": str(timeout_seconds)}
        try:
            answer = self.session.get(self.server + SUBSCRIPTIONS, params=params, stream=True,
                                      timeout=(TIMEOUT[0], timeout_seconds + 15.0))
        except requests.RequestException as exc:
            raise KubeError(f"watch subscriptions: no answer ({type(exc).__name__})") from None
        if answer.status_code == 410:
            answer.close()
            raise WatchExpiredError("watch subscriptions: resourceVersion expired", status=410)
        if answer.status_code != 200:
            text = answer.text[:300]
            answer.close()
            raise KubeError(f"watch subscriptions: HTTP {answer.status_code} {text}", status=answer.status_code)
        self._watch = answer
        try:
            for line in answer.iter_lines():
                if not line:
                    continue
                event = json.loads(line)
                kind, obj = str(event.get("type")), event.get("object") or {}
                if kind == "ERROR":
                    code = obj.get("code")
                    if code == 410:
                        raise WatchExpiredError("watch subscriptions: resourceVersion expired", status=410)
                    raise KubeError(f"watch subscriptions: {obj.get('message', 'error event')}", status=code)
                yield WatchEvent(kind, obj)
        except (requests.RequestException, AttributeError, ValueError) as exc:
            # AttributeError: the response was closed under iter_lines by stop_watch().
            if self._stopping:
                return
            raise KubeError(f"watch subscriptions: stream broke ({type(exc).__name__})") from None
        finally:
            answer.close()
            self._watch = None

    def patch_configmap(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        """Merge-patch ``data`` into an existing ConfigMap (the program creates it; RBAC allows no create)."""
        path = f"/api/v1/namespaces/{namespace}/configmaps/{name}"
        self._json("PATCH", path, body={"data": dict(data)},
                   headers={"Content-Type": "application/merge-patch+json"})

    def _json(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None,
              headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        try:
            answer = self.session.request(method, self.server + path, params=params,
                                          data=json.dumps(body) if body is not None else None,
                                          headers=dict(headers or {}), timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise KubeError(f"{method} {path}: no answer ({type(exc).__name__})") from None
        if answer.status_code != 200:
            raise KubeError(f"{method} {path}: HTTP {answer.status_code} {answer.text[:300]}",
                            status=answer.status_code)
        result = answer.json()
        return result if isinstance(result, dict) else {}
