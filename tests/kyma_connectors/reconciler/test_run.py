"""The watch loop on its own, with a scripted API server: failures and expiries lead to a fresh list, never to a
dead watch; status-only updates are no change."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from kyma_connectors.core.catalog import load_catalog
from kyma_connectors.reconciler.errors import KubeError, WatchExpiredError
from kyma_connectors.reconciler.kube import Kube, WatchEvent
from kyma_connectors.reconciler.run import Reconciler
from kyma_connectors.reconciler.settings import Settings


def subscription(name: str, types: list[str], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"metadata": {"namespace": "ext", "name": name, "resourceVersion": "7"},
            "spec": {"source": "github-acme", "types": types, "sink": "http://s.ext.svc.cluster.local"},
            **({"status": status} if status else {})}


class ScriptedKube:
    """The first list fails, later ones answer the current state; each watch plays the next script entry (events,
    then an error or an end) and applies its events to the state, as the API server's store would be."""

    def __init__(self, watches: list[list[WatchEvent | Exception]]) -> None:
        self.lists = 0
        self.watches = watches
        self.state = {"a": subscription("a", ["push.v1"])}

    def list_subscriptions(self) -> tuple[list[dict[str, Any]], str]:
        self.lists += 1
        if self.lists == 1:
            raise KubeError("GET subscriptions: no answer (ConnectionError)")
        return list(self.state.values()), "5"

    def watch(self, resource_version: str, timeout_seconds: int) -> Iterator[WatchEvent]:
        script = self.watches.pop(0) if self.watches else []
        for step in script:
            if isinstance(step, Exception):
                raise step
            name = step.obj.get("metadata", {}).get("name")
            if step.kind == "DELETED":
                self.state.pop(name, None)
            elif step.kind != "BOOKMARK":
                self.state[name] = step.obj
            yield step
        if not self.watches:
            time.sleep(0.05)

    def stop_watch(self) -> None:
        return


def test_the_watch_survives_failures_and_ignores_status_only_updates(tmp_path: Path) -> None:
    kube = ScriptedKube([
        [WatchEvent("ADDED", subscription("b", ["issues.opened.v1"])), WatchExpiredError("gone", status=410)],
        [WatchEvent("MODIFIED", subscription("b", ["issues.opened.v1"], {"ready": True})),
         RuntimeError("a bug in a library")],
        [WatchEvent("DELETED", subscription("a", ["push.v1"])), WatchEvent("BOOKMARK", {"metadata": {}})],
    ])
    settings = Settings(application="github-acme", solution="github", source="github-acme",
                        api_url="https://api.github.com", targets=("o/r",), webhook_url="https://h/webhook",
                        credentials_dir=tmp_path)
    reconciler = Reconciler(settings, cast(Kube, kube), load_catalog("github"), log=lambda *_, **__: None)
    watcher = threading.Thread(target=reconciler.watch_loop, daemon=True)
    watcher.start()
    deadline = time.monotonic() + 20
    while (kube.watches or set(reconciler.subscriptions) != {"ext/b"}) and time.monotonic() < deadline:
        time.sleep(0.05)
    reconciler.request_stop()
    watcher.join(timeout=5)
    assert set(reconciler.subscriptions) == {"ext/b"}
    assert kube.lists >= 3  # the failed list, after the expiry, after the crash
    assert reconciler.probes.ready
    # Generations: first list, b added, relists unchanged, a deleted -- the status-only MODIFIED is not one.
    assert reconciler.generation == 3
    assert (reconciler.metrics.registry.get_sample_value("hook_reconciler_watch_restarts_total") or 0) >= 3
