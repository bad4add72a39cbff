"""Outputs of values the program already knows, built without ``Output.from_input``'s deep walk.

Why: ``Output.from_input`` turns every element of a list (and every key and value of a dict) into an Output of its
own and gathers them -- for a catalog's event types (80 for GitHub) that cost about as much as registering a small
resource, twice per connector (bench/bench_program.py). A plain value needs none of that: it is known, depends on no
resource and holds no Output, so one Output around it is equivalent.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

import pulumi

T = TypeVar("T")


def known(value: T) -> pulumi.Output[T]:
    """A known, non-secret Output of ``value``, which must be plain data (no Outputs, awaitables or resources)."""
    loop = asyncio.get_event_loop()
    result: asyncio.Future[T] = loop.create_future()
    result.set_result(value)
    is_known: asyncio.Future[bool] = loop.create_future()
    is_known.set_result(True)
    return pulumi.Output(set(), result, is_known)
