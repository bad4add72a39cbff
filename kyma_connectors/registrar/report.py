"""What the registrar tells its operator: one JSON line per service, then one summary line.

Why JSON lines on stdout: ``kubectl logs job/...`` and every log pipeline read them as they are, and a line per
service (``created`` / ``updated`` / ``unchanged`` / ``deleted``) answers "what did this run change" without
diffing. Only names, ids, counts and reasons are logged -- never documents, request bodies or credentials.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TextIO


class Action(StrEnum):
    """What a run did to one service."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"


@dataclass(frozen=True, kw_only=True)
class ServiceOutcome:
    """One service's fate in this run."""

    action: Action
    name: str
    id: str


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """The whole run: per-service outcomes and what it cost in requests."""

    outcomes: tuple[ServiceOutcome, ...]
    requests: int
    writes: int

    @property
    def changed(self) -> bool:
        return self.writes > 0

    def counts(self) -> dict[str, int]:
        found = Counter(outcome.action.value for outcome in self.outcomes)
        return {action.value: found.get(action.value, 0) for action in Action}


class JsonLog:
    """Structured log lines; ``base`` fields (backend, application) go on every line."""

    def __init__(self, stream: TextIO | None = None, **base: str) -> None:
        self._stream = stream or sys.stdout
        self._base = base

    def line(self, msg: str, **fields: Any) -> None:
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "msg": msg, **self._base, **fields}
        self._stream.write(json.dumps(record, sort_keys=False) + "\n")
        self._stream.flush()

    def service(self, outcome: ServiceOutcome) -> None:
        self.line("service", action=outcome.action.value, service=outcome.name, id=outcome.id)

    def summary(self, summary: RunSummary) -> None:
        self.line("summary", result="changed" if summary.changed else "unchanged", writes=summary.writes,
                  requests=summary.requests, **summary.counts())
