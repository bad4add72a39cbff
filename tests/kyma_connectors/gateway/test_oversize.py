"""Deliveries over the publisher's 65,536-byte limit: trimmed to fit with extensions saying what was cut, or refused
with 413 while the sender waits -- never accepted and then dead-lettered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kyma_connectors.gateway.oversize import EventTooLargeError, Fitter, Oversize, trim
from kyma_connectors.gateway.records import Event
from tests.kyma_connectors.gateway.conftest import GatewayFactory
from tests.kyma_connectors.gateway.harness import PublisherDouble, github_headers, payload_json
from tests.support.paths import GITHUB_PAYLOADS

pytestmark = pytest.mark.timeout(60)


def big_push(commits: int) -> dict[str, Any]:
    """GitHub's own push example with its commit repeated: a push of many commits, GitHub's usual large payload."""
    push: dict[str, Any] = json.loads((GITHUB_PAYLOADS / "push" / "with-new-branch.payload.json").read_text())
    commit = push["commits"][0]
    push["commits"] = [{**commit, "id": f"{n:040x}", "message": f"change {n}: " + "x" * 300} for n in range(commits)]
    return push


def event(data: bytes) -> Event:
    return Event(id="d-1", type="push.v1", source="github-acme", time="2026-01-01T00:00:00Z", data=data)


def test_an_event_that_fits_is_unchanged_byte_for_byte() -> None:
    data = b'{ "spaced":  [1, 2, 3] }'
    assert Fitter(4096).fit(event(data)) == event(data)


def test_the_largest_array_is_cut_to_fit_and_the_cut_is_named() -> None:
    data = payload_json(big_push(400))
    fitted = Fitter(65536).fit(event(data))
    assert len(data) > 65536 >= len(fitted.data)
    document = json.loads(fitted.data)
    kept = len(document["commits"])
    assert 0 < kept < 400
    assert document["commits"] == big_push(400)["commits"][:kept]  # the first commits, intact
    assert {k: v for k, v in document.items() if k != "commits"} == {
        k: v for k, v in big_push(400).items() if k != "commits"}
    assert fitted.extensions == {"truncated": "true", "truncatedsize": str(len(data)),
                                 "truncatedarrays": f"/commits={kept}/400"}
    assert len(Fitter(65536).fit(event(data)).data) == len(fitted.data)  # deterministic


def test_the_legacy_body_keeps_room_for_its_envelope() -> None:
    data = payload_json(big_push(400))
    assert len(Fitter(65536, legacy=True).fit(event(data)).data) <= 65536 - 512


def test_nested_and_several_arrays_are_cut_largest_first() -> None:
    document = {"a": list(range(5000)), "b": {"c": ["y" * 50] * 2000}, "keep": "me"}
    result = trim(payload_json(document), 8000)
    assert result is not None
    data, cuts = result
    assert len(data) <= 8000
    assert json.loads(data)["keep"] == "me"
    assert [pointer for pointer, _kept, _total in cuts] == ["/a", "/b/c"]
    assert all(kept < total for _pointer, kept, total in cuts)


def test_a_top_level_array_is_cut_under_the_root_pointer() -> None:
    result = trim(payload_json([{"n": n, "pad": "p" * 100} for n in range(1000)]), 10_000)
    assert result is not None
    data, cuts = result
    assert len(data) <= 10_000
    ((pointer, kept, total),) = cuts
    assert (pointer, total) == ("", 1000)
    assert json.loads(data) == [{"n": n, "pad": "p" * 100} for n in range(kept)]


@pytest.mark.parametrize("data", [payload_json({"blob": "z" * 70_000}), b"not json " * 10_000])
def test_what_no_cut_can_fit_is_refused(data: bytes) -> None:
    with pytest.raises(EventTooLargeError, match="no array"):
        Fitter(65536).fit(event(data))


def test_refuse_mode_refuses_without_trimming() -> None:
    with pytest.raises(EventTooLargeError, match="exceeds the eventing publisher's limit of 65536") as info:
        Fitter(65536, Oversize.REFUSE).fit(event(payload_json(big_push(400))))
    assert info.value.status == 413


def test_a_big_push_reaches_the_real_size_limit_trimmed(gateway_factory: GatewayFactory,
                                                        publisher: PublisherDouble) -> None:
    """Through the gateway process and the double's 65,536-byte limit (EPP's default): accepted, published once."""
    gateway = gateway_factory()
    body = payload_json(big_push(600))
    answer = gateway.post(body, github_headers("test-secret", body, "push", "big-1"))
    assert answer.status_code == 202, answer.text
    (published,) = publisher.wait_for(1)
    assert published["body_size"] <= 65536
    assert published["extensions"]["truncated"] == "true"
    assert published["extensions"]["truncatedsize"] == str(len(body))
    assert published["extensions"]["truncatedarrays"].startswith("/commits=")
    assert gateway.metric("event_gateway_events_truncated_total") == 1
    gateway.wait_drained()
    assert gateway.metric("event_gateway_events_dead_lettered_total") == 0


def test_refuse_mode_answers_413_so_the_sender_shows_a_failed_delivery(gateway_factory: GatewayFactory,
                                                                       publisher: PublisherDouble,
                                                                       tmp_path: Path) -> None:
    gateway = gateway_factory(GATEWAY_OVERSIZE="refuse")
    body = payload_json(big_push(600))
    answer = gateway.post(body, github_headers("test-secret", body, "push", "big-2"))
    assert answer.status_code == 413
    assert answer.json()["error"] == "too_large_for_publisher"
    small = payload_json(big_push(2))
    assert gateway.post(small, github_headers("test-secret", small, "push", "small-1")).status_code == 202
    (published,) = publisher.wait_for(1)
    assert published["id"] == "small-1"
