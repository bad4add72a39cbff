"""The spool in-process: group commit, ordered reads, acknowledgement, torn-tail recovery, dedup across restarts."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from kyma_connectors.gateway import spool as spool_module
from kyma_connectors.gateway.errors import SpoolFullError
from kyma_connectors.gateway.records import Event, encode
from kyma_connectors.gateway.segments import AckFile, Position
from kyma_connectors.gateway.spool import Appended, Spool

pytestmark = pytest.mark.timeout(30)


def event(number: int, size: int = 100) -> Event:
    return Event(
        id=f"id-{number}", type="push.v1", source="app", time="2026-01-01T00:00:00.000Z",
        data=b'{"n": %d, "pad": "%s"}' % (number, b"x" * size), extensions={"nativeevent": "push"},
    )


def make(path: Path, *, segment_bytes: int = 1 << 20, max_bytes: int = 1 << 30, dedup_window: int = 1000) -> Spool:
    return Spool(path, segment_bytes=segment_bytes, max_bytes=max_bytes, dedup_window=dedup_window)


async def append_all(spool: Spool, numbers: range) -> list[Appended]:
    return list(await asyncio.gather(*(spool.append(event(n)) for n in numbers)))


async def read_all(spool: Spool, start: Position | None = None) -> list[tuple[Event, Position]]:
    out: list[tuple[Event, Position]] = []
    cursor = start or spool.ack_position
    while True:
        batch, cursor = await spool.read(cursor, 1000)
        if not batch:
            return out
        out.extend(batch)


def test_concurrent_appends_are_group_committed_and_read_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = make(tmp_path)
        spool.open()
        assert await append_all(spool, range(200)) == [Appended.ACCEPTED] * 200
        assert spool.backlog == 200
        records = await read_all(spool)
        assert [e.id for e, _ in records] == [f"id-{n}" for n in range(200)]
        assert records[7][0] == event(7)
        await spool.acknowledge(records[99][1])
        await spool.close()
        reopened = make(tmp_path)
        assert reopened.open().backlog == 100
        rest = await read_all(reopened)
        assert [e.id for e, _ in rest] == [f"id-{n}" for n in range(100, 200)]
        assert await reopened.append(event(5)) is Appended.DUPLICATE  # known across the restart
        await reopened.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("damage", ["torn", "corrupt"])
def test_torn_or_corrupt_tail_is_truncated(tmp_path: Path, damage: str) -> None:
    """What SIGKILL or a power cut leaves at the end of the last segment is detected (length/CRC) and cut off."""

    async def scenario() -> None:
        spool = make(tmp_path)
        spool.open()
        await append_all(spool, range(3))
        await spool.close()
        (segment,) = (tmp_path / "segments").glob("*.seg")
        whole = encode(event(3))
        tail = whole[: len(whole) // 2] if damage == "torn" else whole[:-1] + bytes([whole[-1] ^ 0xFF])
        with segment.open("ab") as handle:
            handle.write(tail)
        recovered = make(tmp_path)
        report = recovered.open()
        assert report.truncated_bytes == len(tail)
        assert report.backlog == 3
        assert await recovered.append(event(3)) is Appended.ACCEPTED  # the torn one was never acknowledged
        assert [e.id for e, _ in await read_all(recovered)] == ["id-0", "id-1", "id-2", "id-3"]
        await recovered.close()

    asyncio.run(scenario())


def test_retired_segments_keep_their_ids_in_the_dedup_log(tmp_path: Path) -> None:
    """Acknowledged segments are deleted, their ids move to dedup.log; the window is bounded."""

    async def scenario() -> None:
        spool = make(tmp_path, segment_bytes=64 * 1024, dedup_window=300)
        spool.open()
        for start in range(0, 400, 50):
            await append_all(spool, range(start, start + 50))
        records = await read_all(spool)
        assert len(list((tmp_path / "segments").glob("*.seg"))) > 1
        await spool.acknowledge(records[-1][1])
        await spool.close()
        assert len(list((tmp_path / "segments").glob("*.seg"))) == 1
        reopened = make(tmp_path, segment_bytes=64 * 1024, dedup_window=300)
        assert reopened.open().backlog == 0
        assert await reopened.append(event(399)) is Appended.DUPLICATE
        assert await reopened.append(event(150)) is Appended.DUPLICATE
        assert await reopened.append(event(0)) is Appended.ACCEPTED  # older than the 300-id window
        await reopened.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("limit", [spool_module.ID_TRACKING_LIMIT, 0], ids=["ids-remembered", "ids-read-back"])
def test_retiring_writes_every_id_of_the_segment_to_the_dedup_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Whether the segment's ids were remembered as they were committed (and, for the segment recovery continues, as
    recovery found them) or are read back from the file, the dedup log gets exactly the segment's ids, in order."""
    monkeypatch.setattr(spool_module, "ID_TRACKING_LIMIT", limit)

    async def scenario() -> None:
        spool = make(tmp_path, segment_bytes=64 * 1024, dedup_window=10_000)
        spool.open()
        await append_all(spool, range(0, 100))
        await spool.close()
        spool = make(tmp_path, segment_bytes=64 * 1024, dedup_window=10_000)
        spool.open()  # the first segment goes on taking records: its ids so far come from recovery
        for start in range(100, 600, 50):
            await append_all(spool, range(start, start + 50))
        assert len(list((tmp_path / "segments").glob("*.seg"))) > 2
        records = await read_all(spool)
        await spool.acknowledge(records[-1][1])
        await spool.close()

    asyncio.run(scenario())
    logged = (tmp_path / "dedup.log").read_text().split()
    remaining = [e.id for e, _ in asyncio.run(_records_of(tmp_path, segment_bytes=64 * 1024))]
    assert logged + remaining == [f"id-{n}" for n in range(600)]


@pytest.mark.parametrize("keeping_up", [True, False], ids=["keeping-up", "behind"])
def test_the_forwarder_reads_what_was_written_from_memory_or_the_segments_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keeping_up: bool
) -> None:
    """A reader that keeps up gets the events just committed from memory, one that fell behind (more than
    ``RECENT_BYTES`` of records) from the segments: the same events with the same positions either way, in order,
    across segment rotations."""
    monkeypatch.setattr(spool_module, "RECENT_BYTES", 4000)  # about seventeen of these records
    disk_reads: list[int] = []
    original = Spool._read

    def counting(self: Spool, position: Position, committed: Position, max_records: int):  # type: ignore[no-untyped-def]
        result = original(self, position, committed, max_records)
        disk_reads.append(len(result[0]))
        return result

    monkeypatch.setattr(Spool, "_read", counting)

    async def scenario() -> list[tuple[Event, Position]]:
        spool = make(tmp_path, segment_bytes=4 * 1024)
        spool.open()
        seen: list[tuple[Event, Position]] = []
        for start in range(0, 60, 10):
            await append_all(spool, range(start, start + 10))
            if keeping_up or start == 50:
                batch, _cursor = await spool.read(seen[-1][1] if seen else spool.ack_position, 1000)
                while batch:
                    seen.extend(batch)
                    batch, _cursor = await spool.read(seen[-1][1], 1000)
        await spool.close()
        return seen

    seen = asyncio.run(scenario())
    from_segments = sum(disk_reads)
    assert [e for e, _ in seen] == [event(n) for n in range(60)]
    assert seen == asyncio.run(_records_of(tmp_path, segment_bytes=4 * 1024))
    if keeping_up:
        assert from_segments == 0
    else:
        assert from_segments >= 50


async def _records_of(path: Path, *, segment_bytes: int) -> list[tuple[Event, Position]]:
    spool = make(path, segment_bytes=segment_bytes)
    spool.open()
    try:
        return await read_all(spool, Position(0, 0))
    finally:
        await spool.close()


def _crash_image(spool_dir: Path, into: Path) -> Path:
    """What a SIGKILL leaves on disk: the spool directory as it is while the spool is still open."""
    shutil.copytree(spool_dir, into)
    return into


def test_preallocated_zeros_are_unwritten_space_not_damage(tmp_path: Path) -> None:
    """The open segment ends in preallocated zeros; after a kill, recovery cuts them silently (no torn bytes, no
    damage, nothing quarantined) whether they follow the newest segment's records or a finished segment's whose
    rotation did not get to cut them, and a segment of zeros only counts as empty. A clean close leaves no zeros."""

    async def scenario() -> None:
        spool = make(tmp_path / "live", segment_bytes=64 * 1024)
        spool.open()
        await append_all(spool, range(20))
        (segment,) = (tmp_path / "live" / "segments").glob("*.seg")
        records_end = spool.committed.offset
        assert segment.stat().st_size > records_end
        assert not segment.read_bytes()[records_end:].strip(b"\0")
        image = _crash_image(tmp_path / "live", tmp_path / "killed")
        number = spool.committed.segment
        finished = image / "segments" / f"{number:012d}.seg"  # its rotation's cut did not reach the disk
        newest = image / "segments" / f"{number + 1:012d}.seg"
        newest.write_bytes(encode(event(20)) + bytes(8192))
        zeros_only = image / "segments" / f"{number + 2:012d}.seg"
        zeros_only.write_bytes(bytes(4096))  # a rotation's new segment, preallocated before its first record
        await spool.close()
        assert segment.stat().st_size == records_end

        reopened = make(image, segment_bytes=64 * 1024)
        report = reopened.open()
        assert (report.backlog, report.truncated_bytes, report.damaged_records, report.quarantined) == (21, 0, 0, 0)
        assert finished.stat().st_size == records_end
        assert newest.stat().st_size == len(encode(event(20)))
        assert zeros_only.stat().st_size == 0
        assert await reopened.append(event(21)) is Appended.ACCEPTED
        assert zeros_only.stat().st_size > 0  # the next records go to the empty successor
        assert [e.id for e, _ in await read_all(reopened)] == [f"id-{n}" for n in range(22)]
        await reopened.close()

    asyncio.run(scenario())


def test_a_torn_record_before_the_preallocated_zeros_is_cut_and_nothing_committed_is(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = make(tmp_path / "live", segment_bytes=64 * 1024)
        spool.open()
        await append_all(spool, range(5))
        end = spool.committed.offset
        image = _crash_image(tmp_path / "live", tmp_path / "killed")
        await spool.close()
        (segment,) = (image / "segments").glob("*.seg")
        torn = encode(event(5))[:50]  # a batch cut short by the kill, written over the zeros
        with open(segment, "r+b") as handle:
            handle.seek(end)
            handle.write(torn)
        reopened = make(image, segment_bytes=64 * 1024)
        report = reopened.open()
        assert report.backlog == 5
        assert report.truncated_bytes > len(torn) - 1
        assert report.damaged_records == 0
        assert segment.stat().st_size == end
        assert [e.id for e, _ in await read_all(reopened)] == [f"id-{n}" for n in range(5)]
        await reopened.close()

    asyncio.run(scenario())


def test_quota_refuses_with_spool_full_until_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the quota: SpoolFullError (503); once the forwarder acknowledged, a readiness probe clears it."""
    async def scenario() -> None:
        spool = make(tmp_path, max_bytes=64 * 1024)
        spool.open()
        accepted = 0
        refused: SpoolFullError | None = None
        for number in range(1000):
            try:
                await spool.append(event(number, size=1000))
            except SpoolFullError as exc:
                refused = exc
                break
            accepted += 1
        assert refused is not None
        assert 50 < accepted < 64
        assert spool.full
        assert spool.backlog == accepted
        assert await spool.append(event(0)) is Appended.DUPLICATE  # refusing new ones never forgets old ones
        await spool.recheck()
        assert spool.full  # still full, and probed at most every PROBE_INTERVAL seconds
        records = await read_all(spool)
        await spool.acknowledge(records[-1][1])  # the forwarder caught up: the quota counts unpublished bytes
        monkeypatch.setattr(spool_module, "PROBE_INTERVAL", 0.0)
        await spool.recheck()
        assert (spool.full, spool.healthy) == (False, True)
        assert await spool.append(event(5000, size=1000)) is Appended.ACCEPTED
        await spool.close()

    asyncio.run(scenario())


def test_segment_left_behind_by_an_interrupted_retire_is_retired_at_start(tmp_path: Path) -> None:
    """Killed after the ack moved past a segment but before its ids reached dedup.log: startup finishes the job."""

    async def scenario() -> None:
        spool = make(tmp_path, segment_bytes=64 * 1024)
        spool.open()
        for start in range(0, 400, 50):
            await append_all(spool, range(start, start + 50))
        first = min((tmp_path / "segments").glob("*.seg"))
        saved = first.read_bytes()
        records = await read_all(spool)
        await spool.acknowledge(records[-1][1])
        await spool.close()
        assert not first.exists()
        first.write_bytes(saved)  # the deletion "did not happen"
        (tmp_path / "dedup.log").write_bytes(b"")  # nor did the dedup.log append
        reopened = make(tmp_path, segment_bytes=64 * 1024)
        assert reopened.open().backlog == 0
        assert not first.exists()
        assert await reopened.append(event(0)) is Appended.DUPLICATE
        assert b"id-0\n" in (tmp_path / "dedup.log").read_bytes()
        await reopened.close()

    asyncio.run(scenario())


def test_failed_write_that_cannot_be_undone_moves_to_a_new_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC mid-batch and a failing ftruncate: the garbage is never read, later writes go to a fresh segment."""

    async def scenario() -> None:
        spool = make(tmp_path)
        spool.open()
        await append_all(spool, range(3))
        real_write = os.pwrite
        calls = {"n": 0}

        def half_then_full(fd: int, data: bytes | memoryview, offset: int) -> int:
            calls["n"] += 1
            if calls["n"] == 1:
                return real_write(fd, bytes(data)[: len(data) // 2], offset)
            raise OSError(errno.ENOSPC, "No space left on device")

        def no_truncate(fd: int, length: int) -> None:
            raise OSError(errno.EIO, "I/O error")

        monkeypatch.setattr(os, "pwrite", half_then_full)
        monkeypatch.setattr(os, "ftruncate", no_truncate)
        refused: SpoolFullError | None = None
        try:
            await spool.append(event(3))
        except SpoolFullError as exc:
            refused = exc
        monkeypatch.undo()
        assert refused is not None
        assert await spool.append(event(4)) is Appended.ACCEPTED
        assert [e.id for e, _ in await read_all(spool)] == ["id-0", "id-1", "id-2", "id-4"]
        await spool.close()
        assert len(list((tmp_path / "segments").glob("*.seg"))) == 2
        reopened = make(tmp_path)
        report = reopened.open()
        assert report.truncated_bytes > 0
        assert [e.id for e, _ in await read_all(reopened)] == ["id-0", "id-1", "id-2", "id-4"]
        await reopened.close()

    asyncio.run(scenario())


def test_ack_file_survives_a_torn_slot(tmp_path: Path) -> None:
    """Two alternating slots: a torn newest slot falls back to the previous position; both torn: start over."""
    ack = AckFile(tmp_path / "ack")
    assert ack.load() == Position(0, 0)
    ack.write(Position(1, 100))
    ack.write(Position(1, 200))
    ack.close()
    assert AckFile(tmp_path / "ack").load() == Position(1, 200)
    raw = bytearray((tmp_path / "ack").read_bytes())
    raw[5] ^= 0xFF  # slot 0 holds the newer (even) sequence
    (tmp_path / "ack").write_bytes(bytes(raw))
    reloaded = AckFile(tmp_path / "ack")
    assert reloaded.load() == Position(1, 100)
    reloaded.write(Position(2, 0))  # continues after the surviving sequence, overwriting the torn slot
    reloaded.close()
    assert AckFile(tmp_path / "ack").load() == Position(2, 0)
    (tmp_path / "ack").write_bytes(b"\xff" * 64)
    assert AckFile(tmp_path / "ack").load() == Position(0, 0)  # re-publish everything rather than guess


def _recording_syncs(monkeypatch: pytest.MonkeyPatch, slow: set[int]) -> list[str]:
    """``os.fdatasync`` recording the thread of each call; the calls numbered in ``slow`` take 50 ms."""
    real_sync = os.fdatasync
    threads: list[str] = []

    def sync(fd: int) -> None:
        threads.append(threading.current_thread().name)
        if len(threads) in slow:
            time.sleep(0.05)
        real_sync(fd)

    monkeypatch.setattr(os, "fdatasync", sync)
    return threads


def test_a_fast_disk_is_committed_on_the_event_loop_one_sync_per_loop_iteration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appends made in one loop iteration share one commit, on the loop's thread: no writer thread at all."""

    async def scenario() -> None:
        spool = make(tmp_path)
        spool.open()
        threads = _recording_syncs(monkeypatch, slow=set())
        assert await append_all(spool, range(50)) == [Appended.ACCEPTED] * 50
        assert await spool.append(event(50)) is Appended.ACCEPTED
        assert threads == [threading.current_thread().name] * 2
        assert not [t for t in threading.enumerate() if t.name == "spool-writer"]
        assert [e.id for e, _ in await read_all(spool)] == [f"id-{n}" for n in range(51)]
        await spool.close()

    asyncio.run(scenario())


def test_a_slow_commit_moves_commits_to_the_writer_thread_until_the_disk_is_fast_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over ``INLINE_COMMIT_LIMIT`` the loop must not wait for the disk again; after ``INLINE_RETRY_SECONDS`` of
    fast commits on the thread, commits return to the loop. Every acknowledged record stays, in order."""
    monkeypatch.setattr(spool_module, "INLINE_RETRY_SECONDS", 0.2)
    monkeypatch.setattr(spool_module, "INLINE_COMMIT_LIMIT", 0.02)  # the slow syncs below take 50 ms

    async def scenario() -> None:
        spool = make(tmp_path)
        spool.open()
        loop_thread = threading.current_thread().name
        threads = _recording_syncs(monkeypatch, slow={1, 2})
        await spool.append(event(0))  # slow, on the loop: the next ones go to the thread
        await spool.append(event(1))  # slow again on the thread: the fast period starts after it
        assert threads == [loop_thread, "spool-writer"]
        await spool.append(event(2))
        assert threads[-1] == "spool-writer"
        await asyncio.sleep(0.25)
        await spool.append(event(3))  # the fast period is over: this commit's answer moves them back
        await spool.append(event(4))
        assert threads[2:] == ["spool-writer", "spool-writer", loop_thread]
        assert [e.id for e, _ in await read_all(spool)] == [f"id-{n}" for n in range(5)]
        await spool.close()
        assert not [t for t in threading.enumerate() if t.name == "spool-writer"]
        reopened = make(tmp_path)
        assert reopened.open().backlog == 5
        await reopened.close()

    asyncio.run(scenario())


def test_commits_go_to_the_writer_thread_while_other_requests_wait_for_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``loop_is_free`` says whether anything besides the batch's own appends wants the loop: if so, the sync runs
    on the writer thread so that their work overlaps it; once it is free again, on the loop."""

    async def scenario() -> None:
        spool = make(tmp_path)
        spool.open()
        asked: list[int] = []
        others = {"waiting": 3}

        def free(waiting: int) -> bool:
            asked.append(waiting)
            return others["waiting"] == 0

        spool.loop_is_free = free
        threads = _recording_syncs(monkeypatch, slow=set())
        assert await append_all(spool, range(4)) == [Appended.ACCEPTED] * 4
        assert threads == ["spool-writer"]
        assert asked == [4]  # asked with the batch's own count, once per commit
        others["waiting"] = 0
        await spool.append(event(4))
        assert threads == ["spool-writer", threading.current_thread().name]
        assert [e.id for e, _ in await read_all(spool)] == [f"id-{n}" for n in range(5)]
        await spool.close()

    asyncio.run(scenario())
