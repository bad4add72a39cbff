"""The Qualtrics double answers as the documented event-subscription facts say, and records what breaks them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import requests

from devtools.doubles import process as doubles
from devtools.doubles.qualtrics import SCHEMAS, QualtricsDouble

pytestmark = pytest.mark.timeout(30)
TOKEN = "q-token"


@pytest.fixture
def q() -> Iterator[QualtricsDouble]:
    with QualtricsDouble(tokens=(TOKEN,), page_size=2) as double:
        yield double


def call(q: QualtricsDouble, method: str, path: str, body: Any = None, token: str = TOKEN) -> requests.Response:
    return requests.request(method, q.url + path, json=body, headers={"X-API-TOKEN": token}, timeout=5)


def subscribe(q: QualtricsDouble, topic: str) -> str:
    answer = call(
        q,
        "POST",
        "/eventsubscriptions/",
        {"topics": topic, "publicationUrl": "https://gw.example/q", "encrypt": False, "sharedKey": "k"},
    )
    assert answer.status_code == 200
    jsonschema.validate(answer.json(), SCHEMAS["create-response"])
    return str(answer.json()["result"]["id"])


def test_create_list_delete_round_trip(q: QualtricsDouble) -> None:
    ids = [subscribe(q, f"surveyengine.completedResponse.SV_{i}") for i in range(3)]
    first = call(q, "GET", "/eventsubscriptions/").json()
    jsonschema.validate(first, SCHEMAS["list-response"])
    assert [e["id"] for e in first["result"]["elements"]] == ids[:2]
    assert "sharedKey" not in first["result"]["elements"][0]  # never read back
    second = requests.get(first["result"]["nextPage"], headers={"X-API-TOKEN": TOKEN}, timeout=5).json()
    assert ([e["id"] for e in second["result"]["elements"]], second["result"]["nextPage"]) == (ids[2:], None)
    assert call(q, "DELETE", f"/eventsubscriptions/{ids[0]}").json()["meta"]["httpStatus"] == "200 - OK"
    assert call(q, "DELETE", f"/eventsubscriptions/{ids[0]}").status_code == 404
    assert q.brand.violations == []


def test_auth_and_brand_admin_rules(q: QualtricsDouble) -> None:
    assert call(q, "GET", "/eventsubscriptions/", token="wrong").status_code == 401
    requests.post(q.url.removesuffix("/API/v3") + "/_admin/tokens", json={"token": "user", "admin": False}, timeout=5)
    answer = call(q, "GET", "/eventsubscriptions/", token="user")
    assert answer.status_code == 403
    assert "brand administrator" in answer.json()["meta"]["error"]["errorMessage"]


def test_bad_create_bodies_are_400_and_recorded(q: QualtricsDouble) -> None:
    answer = call(q, "POST", "/eventsubscriptions/", {"topics": "", "publicationUrl": "ftp://x"})
    assert answer.status_code == 400
    assert len(q.brand.violations) == 1


def test_faults_carry_their_headers(q: QualtricsDouble) -> None:
    requests.post(
        q.url.removesuffix("/API/v3") + "/_admin/faults",
        json={"status": 429, "headers": {"Retry-After": "2"}},
        timeout=5,
    )
    answer = call(q, "GET", "/eventsubscriptions/")
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "2")
    assert call(q, "GET", "/eventsubscriptions/").status_code == 200


def test_runs_standalone() -> None:
    with doubles.running("devtools.doubles.qualtrics", "--port", "0", "--token", TOKEN) as double:
        assert double.url.endswith("/API/v3")
        answer = requests.get(double.url + "/eventsubscriptions/", headers={"X-API-TOKEN": TOKEN}, timeout=5)
        assert answer.json()["result"] == {"elements": [], "nextPage": None}
    assert double.process.returncode == 0  # SIGTERM is a clean stop
