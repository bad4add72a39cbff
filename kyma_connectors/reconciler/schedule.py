"""When to reconcile: debounce bursts of Subscription changes, back off after failures, resync now and then.

Pure arithmetic on timestamps (the caller passes ``now``), so the rules are tested without sleeping:

* a change is acted on once ``debounce`` seconds passed without another change, or ``max_delay`` seconds after the
  first of a burst -- 50 Subscriptions created at once become one hook update;
* after a failure nothing runs before the backoff (doubling from 1 s up to ``retry_max``) or a rate limit's reset
  has passed, whatever changes arrive meanwhile -- they are folded into the retry;
* every ``resync`` seconds a reconcile runs anyway: it repairs a hook edited by hand and catches up after an outage
  even when no Subscription changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Schedule:
    debounce: float
    max_delay: float
    resync: float
    retry_max: float
    first_change: float | None = None
    last_change: float | None = None
    retry_at: float | None = None
    failures: int = 0
    next_resync: float = field(default=float("inf"))

    def changed(self, now: float) -> None:
        """A Subscription was added, changed or deleted (or the reconciler just started)."""
        if self.first_change is None:
            self.first_change = now
        self.last_change = now

    def due(self, now: float) -> bool:
        if self.retry_at is not None and now < self.retry_at:
            return False
        if self.retry_at is not None:
            return True
        if self.first_change is not None and self.last_change is not None:
            quiet = now - self.last_change >= self.debounce
            overdue = now - self.first_change >= self.max_delay
            if quiet or overdue:
                return True
        return now >= self.next_resync

    def wait(self, now: float) -> float:
        """Seconds until :meth:`due` may turn true (the caller also wakes on every change)."""
        moments = [self.next_resync]
        if self.retry_at is not None:
            moments = [self.retry_at]
        elif self.first_change is not None and self.last_change is not None:
            moments.append(min(self.last_change + self.debounce, self.first_change + self.max_delay))
        return max(0.0, min(moments) - now)

    def succeeded(self, now: float) -> None:
        self.first_change = self.last_change = self.retry_at = None
        self.failures = 0
        self.next_resync = now + self.resync

    def soon(self, now: float, seconds: float) -> None:
        """Look again within ``seconds`` though nothing failed (a hook that does not exist yet)."""
        self.next_resync = min(self.next_resync, now + seconds)

    def failed(self, now: float, not_before: float | None = None) -> float:
        """Schedule the retry; returns its delay in seconds."""
        self.failures += 1
        delay = min(self.retry_max, 2.0 ** (self.failures - 1))
        at = now + delay if not_before is None else max(now + delay, not_before)
        self.retry_at = at
        return at - now
