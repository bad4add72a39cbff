"""Body reading against the process-wide budgets: what stays in memory, what spills, what is refused, and that
every byte of budget comes back."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kyma_connectors.gateway.bodies import INLINE_BYTES, Body, BodyBudget, read_body
from kyma_connectors.gateway.errors import BodyBudgetError, PayloadTooLargeError

MIB = 1 << 20


def receiver(chunks: list[bytes]) -> Any:
    messages: Iterator[dict[str, Any]] = iter(
        [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    return receive


class Recorder:
    def __init__(self) -> None:
        self.seen = b""

    def update(self, chunk: bytes) -> None:
        self.seen += chunk


def read(budget: BodyBudget, chunks: list[bytes], tmp_path: Path, *, declared: int | None,
         cap: int = 32 * MIB, feed: Recorder | None = None) -> Body:
    body = Body(budget)
    asyncio.run(read_body(receiver(chunks), body, declared=declared, cap=cap, spill_dir=tmp_path, feed=feed))
    return body


def test_small_body_stays_in_memory_and_gives_its_budget_back(tmp_path: Path) -> None:
    budget = BodyBudget(memory_limit=MIB, spill_limit=MIB)
    body = read(budget, [b'{"a":', b" 1}"], tmp_path, declared=8)
    assert not body.spilled
    assert body.complete
    assert body.data() == b'{"a": 1}'
    assert budget.memory == 8
    body.release()
    assert (budget.memory, budget.spilled) == (0, 0)


def test_large_body_streams_to_an_anonymous_file_and_through_the_feed(tmp_path: Path) -> None:
    budget = BodyBudget(memory_limit=MIB, spill_limit=4 * MIB)
    chunks = [bytes([n]) * INLINE_BYTES for n in range(10)]
    feed = Recorder()
    body = read(budget, chunks, tmp_path, declared=10 * INLINE_BYTES, feed=feed)
    assert body.spilled
    assert budget.memory == 0
    assert budget.spilled == 10 * INLINE_BYTES
    assert feed.seen == b"".join(chunks)
    assert body.data() == b"".join(chunks)
    assert os.listdir(tmp_path) == []  # O_TMPFILE (or unlinked at once): nothing to clean up after a crash
    body.release()
    assert budget.spilled == 0


def test_small_bodies_spill_once_the_memory_budget_is_used(tmp_path: Path) -> None:
    budget = BodyBudget(memory_limit=MIB, spill_limit=MIB)
    budget.memory = MIB - 10  # held by other requests
    body = read(budget, [b"x" * 100], tmp_path, declared=100)
    assert body.spilled
    assert body.data() == b"x" * 100
    body.release()
    assert (budget.memory, budget.spilled) == (MIB - 10, 0)


def test_beyond_the_spill_budget_the_body_is_refused_as_it_arrives(tmp_path: Path) -> None:
    budget = BodyBudget(memory_limit=MIB, spill_limit=2 * MIB)
    body = Body(budget)
    chunks = [b"y" * MIB] * 4
    with pytest.raises(BodyBudgetError):
        asyncio.run(read_body(receiver(chunks), body, declared=4 * MIB, cap=32 * MIB, spill_dir=tmp_path, feed=None))
    assert body.size == 2 * MIB  # what arrived before the budget ran out, not what was declared
    body.release()
    assert budget.spilled == 0


def test_chunked_body_over_the_cap_is_413(tmp_path: Path) -> None:
    budget = BodyBudget(memory_limit=MIB, spill_limit=8 * MIB)
    body = Body(budget)
    with pytest.raises(PayloadTooLargeError):
        asyncio.run(read_body(receiver([b"z" * MIB] * 3), body, declared=None, cap=2 * MIB, spill_dir=tmp_path,
                              feed=None))
    body.release()
    assert (budget.memory, budget.spilled) == (0, 0)
