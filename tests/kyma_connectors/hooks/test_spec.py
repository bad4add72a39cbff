"""Input checks: every problem at once, unknowns skipped, secrets never quoted."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyma_connectors.hooks.errors import InvalidSpecError
from kyma_connectors.hooks.spec import UNKNOWN, parse, problems

GOOD: dict[str, Any] = {
    "solution": "github",
    "api_url": "https://api.github.com",
    "target": "octo/hello",
    "url": "https://gw.example/webhook",
    "events": ["push"],
    "secret": "s3cret-value",
    "token": "ghp_abcdef",
}


def fields(props: dict[str, Any]) -> list[str]:
    return [problem.path for problem in problems(props)]


def test_good_inputs_parse() -> None:
    spec = parse(GOOD)
    assert (spec.target, spec.events, spec.active) == ("octo/hello", ("push",), True)
    assert "s3cret-value" not in repr(spec)
    assert "ghp_abcdef" not in repr(spec)


def test_every_problem_is_reported_at_once() -> None:
    bad = GOOD | {"solution": "gitlab", "api_url": "ftp://x", "url": "nope", "events": [], "secret": ""}
    assert fields(bad) == ["solution", "api_url", "url", "events", "secret"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"target": "just-a-name"}, "target"),
        ({"target": "org:"}, "target"),
        ({"api_url": "http://api.github.com"}, "api_url"),
        ({"url": "https://gw.example/webhook?x=1"}, "url"),
        ({"events": ["push", "push"]}, "events"),
        ({"events": ["push", ""]}, "events"),
        ({"active": "yes"}, "active"),
        ({"token": None}, "token"),
        ({"app_id": "1"}, "token"),
    ],
)
def test_single_problems_name_their_field(change: dict[str, Any], field: str) -> None:
    assert fields(GOOD | change) == [field]


def test_loopback_http_api_is_allowed_for_doubles() -> None:
    assert fields(GOOD | {"api_url": "http://127.0.0.1:8080"}) == []


def test_org_target_and_app_credentials_are_fine() -> None:
    app = GOOD | {"target": "org:octo-org", "token": None, "app_id": 1, "installation_id": 2, "private_key": "PEM"}
    assert fields(app) == []
    assert parse(app).app_id == "1"


def test_incomplete_app_credentials_name_the_missing_ones() -> None:
    assert fields(GOOD | {"token": None, "app_id": "1"}) == ["installation_id", "private_key"]


def test_qualtrics_rules() -> None:
    q = {**GOOD, "solution": "qualtrics", "api_url": "https://fra1.qualtrics.com/API/v3", "target": ""}
    assert fields(q) == []
    assert fields(q | {"target": "octo/hello"}) == ["target"]
    assert fields(q | {"api_url": "https://fra1.qualtrics.com"}) == ["api_url"]
    assert fields(q | {"active": False}) == ["active"]
    assert fields(q | {"private_key": "PEM"}) == ["private_key"]


def test_unknown_values_are_not_judged_in_preview() -> None:
    assert fields(GOOD | {"url": UNKNOWN, "events": [UNKNOWN], "target": UNKNOWN}) == []


def test_parse_refuses_unknowns_and_never_quotes_secrets() -> None:
    with pytest.raises(InvalidSpecError) as info:
        parse(GOOD | {"url": UNKNOWN, "secret": ""})
    assert [problem.path for problem in info.value.problems] == ["secret", "url"]
    assert info.value.messages[0].startswith("secret: ")
    assert "ghp_abcdef" not in str(info.value)


@given(
    secret=st.text(min_size=1, max_size=40).map(lambda t: f"whsec-{t}"),
    token=st.text(min_size=1, max_size=40).map(lambda t: f"ghp-{t}"),
    key=st.text(min_size=1, max_size=40).map(lambda t: f"-----BEGIN {t}"),
)
def test_no_reason_ever_quotes_a_secret_value(secret: str, token: str, key: str) -> None:
    """Whatever the secret values, and however wrong the other inputs, reasons never contain them."""
    bad = {
        "solution": "github",
        "api_url": "nope",
        "target": "x",
        "url": "",
        "events": [],
        "secret": secret,
        "token": token,
        "app_id": "1",
        "private_key": key,
    }
    reasons = " ".join(problem.message for problem in problems(bad))
    assert reasons
    for value in (secret, token, key):
        assert value not in reasons
