"""Record framing: a scan finds every valid record around damaged ones, whatever byte was flipped."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kyma_connectors.gateway.records import Event, encode, resync, scan, valid_frame


def record(number: int, size: int = 40) -> bytes:
    return encode(Event(id=f"id-{number}", type="push.v1", source="app", time="2026-01-01T00:00:00.000Z",
                        data=b'{"n": %d, "pad": "%s"}' % (number, b"x" * size)))


def test_a_clean_segment_scans_whole() -> None:
    records = [record(n) for n in range(5)]
    found = scan(b"".join(records))
    assert found.ids == [f"id-{n}" for n in range(5)]
    assert found.damaged == []
    assert found.size == sum(map(len, records))


@settings(max_examples=300, deadline=None)
@given(victim=st.integers(0, 6), where=st.floats(0, 0.999), flip=st.integers(1, 255))
def test_one_flipped_byte_costs_exactly_its_record(victim: int, where: float, flip: int) -> None:
    """Any byte of a middle record flipped (length, CRC, id or data): that record is reported damaged, its exact
    byte range is named, and every other record is found."""
    records = [record(n, size=20 + 7 * n) for n in range(8)]
    start = sum(map(len, records[:victim]))
    data = bytearray(b"".join(records))
    data[start + int(where * len(records[victim]))] ^= flip
    found = scan(bytes(data))
    assert found.ids == [f"id-{n}" for n in range(8) if n != victim]
    assert found.damaged == [(start, start + len(records[victim]))]
    assert found.size == len(data)


def test_a_torn_tail_is_not_damage_but_the_end() -> None:
    records = [record(n) for n in range(3)]
    whole = b"".join(records)
    found = scan(whole[:-5])
    assert found.ids == ["id-0", "id-1"]
    assert found.damaged == []
    assert found.size == len(records[0]) + len(records[1])


def test_resync_finds_the_next_record_start() -> None:
    records = [record(n) for n in range(3)]
    garbage = b"\xff" * 13
    data = records[0] + garbage + records[1]
    assert valid_frame(data, len(records[0])) is None
    assert resync(data, len(records[0])) == len(records[0]) + len(garbage)
    assert resync(records[0][:-1], 0) is None
