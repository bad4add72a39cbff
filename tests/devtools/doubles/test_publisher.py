"""The eventing publisher proxy double keeps to its contract (kyma-contracts.md section c, legacy events API)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.kyma_connectors.gateway.harness import PublisherDouble

pytestmark = pytest.mark.timeout(30)
BINARY = {
    "ce-specversion": "1.0",
    "ce-id": "e-1",
    "ce-type": "order.created.v1",
    "ce-source": "shop",
    "ce-orderkind": "retail",
    "content-type": "application/json",
}


@pytest.fixture
def double(tmp_path: Path) -> Iterator[PublisherDouble]:
    started = PublisherDouble(tmp_path)
    started.start()
    yield started
    started.stop()


def test_binary_and_structured_cloudevents_get_204(double: PublisherDouble) -> None:
    assert requests.post(f"{double.url}/publish", data=b'{"n": 1}', headers=BINARY, timeout=5).status_code == 204
    structured = {"specversion": "1.0", "id": "e-2", "type": "order.created.v1", "source": "shop", "data": {"n": 2}}
    answer = requests.post(
        f"{double.url}/publish",
        data=json.dumps(structured),
        headers={"content-type": "application/cloudevents+json"},
        timeout=5,
    )
    assert answer.status_code == 204
    first, second = double.events()
    assert (first["mode"], first["id"], first["data"], first["extensions"]) == (
        "binary", "e-1", {"n": 1}, {"orderkind": "retail"}
    )
    assert (second["mode"], second["id"], second["data"]) == ("structured", "e-2", {"n": 2})


def test_invalid_cloudevent_gets_400_and_is_not_recorded(double: PublisherDouble) -> None:
    headers = {k: v for k, v in BINARY.items() if k != "ce-type"}
    answer = requests.post(f"{double.url}/publish", data=b"{}", headers=headers, timeout=5)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/plain")  # EPP handler.go writeResponse: the error text
    assert "type" in answer.text
    assert double.events() == []


def test_the_proxy_size_limit_is_65536_body_bytes(double: PublisherDouble) -> None:
    """EPP pkg/options/options.go maxRequestSize: /publish answers 400 beyond it, the legacy route 413."""
    filler = b'{"x": "' + b"a" * (65536 - 9) + b'"}'
    assert len(filler) == 65536
    assert requests.post(f"{double.url}/publish", data=filler, headers=BINARY, timeout=5).status_code == 204
    over = requests.post(f"{double.url}/publish", data=filler + b" ", headers=BINARY, timeout=5)
    assert (over.status_code, over.text) == (400, "http: request body too large")
    legacy = {"event-type": "order.created", "event-type-version": "v1", "event-time": "2012-11-01T22:08:41+00:00",
              "data": {"x": "a" * 70_000}}
    too_large = requests.post(f"{double.url}/shop/v1/events", json=legacy, timeout=5)
    assert too_large.status_code == 413
    assert too_large.json()["type"] == "request_body_too_large"
    assert len(double.events()) == 1


def test_legacy_events_follow_the_1x_api(double: PublisherDouble) -> None:
    good = {
        "event-type": "order.created",
        "event-type-version": "v1",
        "event-id": "31109198-4d69-4ae0-972d-76117f3748c8",
        "event-time": "2012-11-01T22:08:41+00:00",
        "data": {"n": 1},
    }
    answer = requests.post(f"{double.url}/shop/v1/events", json=good, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"event-id": good["event-id"], "status": "", "reason": ""}  # EPP PublishResponse
    (event,) = double.events()
    assert (event["type"], event["source"], event["mode"]) == ("order.created.v1", "shop", "legacy")
    bad = {**good, "event-type-version": "v1.0", "event-id": "not-a-uuid"}
    del bad["event-type"]
    rejected = requests.post(f"{double.url}/shop/v1/events", json=bad, timeout=5)
    assert rejected.status_code == 400
    fields = {detail["field"] for detail in rejected.json()["details"]}
    assert fields == {"event-type", "event-type-version", "event-id"}


def test_injected_failures(double: PublisherDouble) -> None:
    double.control(fail_next=1, fail_status=503, reject_types=["order.created.v1"], reject_status=422)

    def post() -> requests.Response:
        return requests.post(f"{double.url}/publish", data=b"{}", headers=BINARY, timeout=5)

    assert post().status_code == 503
    assert post().status_code == 422
    double.control(reject_types=[])
    assert post().status_code == 204
    assert len(double.events()) == 1


def test_kubeconfig_and_in_cluster_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    from devtools.doubles.publisher import main

    with pytest.raises(SystemExit) as exited:
        main(["--kubeconfig", "k", "--in-cluster"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
