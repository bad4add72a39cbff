"""The reconciler's two loops: a watch that mirrors Subscriptions into memory, a worker that reconciles the hook.

The in-memory Subscriptions are a cache of the API server, rebuilt from a full list on every (re)start and every
broken watch; the hook's state is never cached -- every reconcile reads it from the solution (the single state).
The worker wakes on every change, lets :class:`~.schedule.Schedule` decide when to act, and never runs two
reconciles at once. Stopping (SIGTERM) ends both loops within a second or two: waits are on one stop event, the
watch's connection is closed from under it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from kyma_connectors.core.catalog import Catalog
from kyma_connectors.hooks.errors import RateLimitedError, WebhookError
from kyma_connectors.hooks.transport import RetryPolicy
from kyma_connectors.reconciler import hooks
from kyma_connectors.reconciler.errors import KubeError, ReconcilerError, WatchExpiredError
from kyma_connectors.reconciler.kube import Kube
from kyma_connectors.reconciler.schedule import Schedule
from kyma_connectors.reconciler.server import Probes
from kyma_connectors.reconciler.settings import Settings
from kyma_connectors.reconciler.status import Metrics, Status
from kyma_connectors.reconciler.wanted import SubscriptionView, decide

WATCH_SECONDS: Final[int] = 60
"""Server-side watch timeout: a fresh watch every minute keeps proxies from cutting an idle stream unnoticed."""
POLICY: Final[RetryPolicy] = RetryPolicy(attempts=4, backoff=1.0, max_backoff=10.0, max_rate_limit_wait=60.0,
                                         budget=120.0, timeout=(5.0, 20.0))
"""Per-call retries stay short: longer rate-limit waits are scheduled (:meth:`Schedule.failed`), not slept."""
WAIT_FOR_HOOK: Final[float] = 10.0
"""Seconds until the next look when a target has no hook yet (Pulumi is creating or replacing it)."""
Log = Callable[..., None]


def json_log(event: str, **fields: Any) -> None:
    """One JSON line per decision on stdout (no secrets are ever passed here)."""
    print(json.dumps({"ts": round(time.time(), 3), "event": event, **fields}, sort_keys=True), flush=True)


class StopClock:
    """The transport's clock: sleeping ends early when the reconciler is asked to stop."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        self.stop.wait(max(0.0, seconds))


class Reconciler:
    def __init__(self, settings: Settings, kube: Kube, catalog: Catalog, *, log: Log = json_log) -> None:
        self.settings, self.kube, self.catalog, self.log = settings, kube, catalog, log
        self.stop = threading.Event()
        self.clock = StopClock(self.stop)
        self.cond = threading.Condition()
        self.subscriptions: dict[str, SubscriptionView] = {}
        self.generation = 0
        self.schedule = Schedule(debounce=settings.debounce, max_delay=settings.max_delay, resync=settings.resync,
                                 retry_max=settings.retry_max)
        self.metrics = Metrics(settings.application)
        self.status = Status(application=settings.application, source=settings.source)
        self.probes = Probes(stale_after=max(120.0, settings.resync * 2))
        self._written: dict[str, str] | None = None

    # --- lifecycle -------------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        self.stop.set()
        self.kube.stop_watch()
        with self.cond:
            self.cond.notify_all()

    def run(self) -> None:
        watcher = threading.Thread(target=self.watch_loop, name="watch", daemon=True)
        watcher.start()
        try:
            self.work_loop()
        finally:
            self.request_stop()
            watcher.join(timeout=5)

    # --- the watch ---------------------------------------------------------------------------------------------
    def watch_loop(self) -> None:
        failures = 0
        while not self.stop.is_set():
            try:
                items, version = self.kube.list_subscriptions()
                self._replace(items)
                self.probes.ready = True
                failures = 0
                while not self.stop.is_set():
                    for event in self.kube.watch(version, WATCH_SECONDS):
                        version = str((event.obj.get("metadata") or {}).get("resourceVersion") or version)
                        if event.kind != "BOOKMARK":
                            self._apply(event.kind, event.obj)
            except WatchExpiredError:
                self.metrics.watch_restarts.inc()
                continue  # list again from now
            except Exception as exc:  # a dead watch would leave the hook stale for good: list again
                failures += 1
                self.metrics.watch_restarts.inc()
                self.metrics.failures.labels("kube").inc()
                error = str(exc) if isinstance(exc, KubeError) else f"{type(exc).__name__}: {exc}"
                self.log("watch_failed", error=error[:300], retry_in=min(30, 2 ** failures))
                self.stop.wait(min(30, 2 ** failures))

    def _key(self, obj: dict[str, Any]) -> str:
        meta = obj.get("metadata") or {}
        return f"{meta.get('namespace', '')}/{meta.get('name', '')}"

    def _replace(self, items: list[dict[str, Any]]) -> None:
        views = {self._key(i): SubscriptionView.from_object(i) for i in items}
        with self.cond:
            if views != self.subscriptions or self.generation == 0:
                self.subscriptions = views
                self._changed()

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        key = self._key(obj)
        with self.cond:
            before = self.subscriptions.get(key)
            if kind == "DELETED":
                self.subscriptions.pop(key, None)
            else:
                self.subscriptions[key] = SubscriptionView.from_object(obj)
            if self.subscriptions.get(key) != before:  # status-only updates change nothing we read
                self._changed()

    def _changed(self) -> None:
        self.generation += 1
        self.schedule.changed(time.monotonic())
        self.cond.notify_all()

    # --- the worker --------------------------------------------------------------------------------------------
    def work_loop(self) -> None:
        while not self.stop.is_set():
            with self.cond:
                self.probes.beat = time.monotonic()
                now = time.monotonic()
                if not (self.probes.ready and self.schedule.due(now)):
                    self.cond.wait(timeout=min(5.0, self.schedule.wait(now)) if self.probes.ready else 1.0)
                    continue
                snapshot, generation = list(self.subscriptions.values()), self.generation
            self.reconcile(snapshot, generation)

    def reconcile(self, snapshot: list[SubscriptionView], generation: int) -> None:
        settings = self.settings
        wanted = decide(snapshot, source=settings.source, catalog=self.catalog, backend=settings.backend)
        self.metrics.decided(wanted)
        try:
            applied = hooks.apply(settings, settings.credentials(), wanted.events, self.catalog, policy=POLICY,
                                  clock=self.clock)
        except RateLimitedError as exc:
            self._failed("rate_limited", str(exc), exc.reset_at)
            return
        except (WebhookError, ReconcilerError) as exc:
            self._failed("api" if isinstance(exc, WebhookError) else "settings", str(exc), None)
            return
        for result in applied:
            if result.calls:
                self.metrics.updates.labels(result.target or "brand").inc(result.calls)
        self.metrics.reconciles.labels("changed" if any(a.changed for a in applied) else "unchanged").inc()
        self.status.record(wanted, applied)
        self.log("reconciled", events=list(wanted.events), subscriptions=list(wanted.matched),
                 targets={a.target or "brand": a.detail for a in applied},
                 **({"unknown_types": list(wanted.unknown_types)} if wanted.unknown_types else {}),
                 **({"source_mismatches": list(wanted.near_misses)} if wanted.near_misses else {}))
        self._write_status()
        with self.cond:
            now = time.monotonic()
            self.schedule.succeeded(now)
            if any(result.waiting for result in applied):
                self.schedule.soon(now, WAIT_FOR_HOOK)
            if self.generation != generation:  # changes arrived while we worked: they get their own run
                self.schedule.changed(now)

    def _failed(self, reason: str, message: str, reset_at: float | None) -> None:
        self.metrics.failures.labels(reason).inc()
        self.metrics.reconciles.labels("failed").inc()
        with self.cond:
            now = time.monotonic()
            not_before = None if reset_at is None else now + max(0.0, reset_at - time.time())
            delay = self.schedule.failed(now, not_before)
        self.status.failed(message)
        self.log("reconcile_failed", reason=reason, error=message, retry_in=round(delay, 1))
        self._write_status()

    def _write_status(self) -> None:
        settings = self.settings
        data = self.status.data()
        if not settings.status_configmap or data == self._written:
            return
        try:
            self.kube.patch_configmap(settings.namespace, settings.status_configmap, data)
            self._written = data
        except KubeError as exc:  # status is for people; a failed write must not stop reconciling
            self.metrics.failures.labels("status").inc()
            self.log("status_write_failed", error=str(exc))


def exit_with(message: str) -> int:
    print(json.dumps({"event": "fatal", "error": message}), file=sys.stderr, flush=True)
    return 2
