"""Field-level diff: identity replaces, the rest updates, drift from refresh is a change."""

from __future__ import annotations

from typing import Any

import pytest

from kyma_connectors.hooks.diff import Change, changes
from kyma_connectors.hooks.spec import UNKNOWN

STATE: dict[str, Any] = {
    "solution": "github",
    "api_url": "https://api.github.com",
    "target": "octo/hello",
    "url": "https://gw.example/webhook",
    "events": ["push", "issues"],
    "active": True,
    "secret": "s",
    "token": "t",
    "provider_version": "1",
    "hook_id": "1",
    "content_type": "json",
    "insecure_ssl": "0",
}
INPUTS = {k: v for k, v in STATE.items() if k not in ("hook_id", "content_type", "insecure_ssl")}


def test_no_change() -> None:
    assert changes(STATE, INPUTS) == []


def test_event_order_and_url_slash_and_target_case_are_not_changes() -> None:
    news = INPUTS | {"events": ["issues", "push"], "api_url": "https://api.github.com/", "target": "Octo/Hello"}
    assert changes(STATE, news) == []


@pytest.mark.parametrize("field", ["solution", "api_url", "target"])
def test_identity_changes_replace(field: str) -> None:
    news = INPUTS | {
        field: {"solution": "qualtrics", "api_url": "https://ghe.example/api/v3", "target": "octo/other"}[field]
    }
    assert changes(STATE, news) == [Change(field, "replace")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "https://gw2.example/webhook"),
        ("events", ["push"]),
        ("active", False),
        ("secret", "s2"),
        ("token", "t2"),
        ("provider_version", "2"),
    ],
)
def test_other_fields_update_in_place(field: str, value: Any) -> None:
    assert changes(STATE, INPUTS | {field: value}) == [Change(field, "update")]


def test_drift_read_from_the_live_hook_is_a_change() -> None:
    """Refresh wrote content_type=form / insecure_ssl=1 into state: the next up must repair them."""
    drifted = STATE | {"content_type": "form", "insecure_ssl": "1"}
    assert changes(drifted, INPUTS) == [Change("content_type", "update"), Change("insecure_ssl", "update")]


def test_unknown_values_count_as_changes() -> None:
    assert changes(STATE, INPUTS | {"url": UNKNOWN, "target": UNKNOWN}) == [
        Change("target", "replace"),
        Change("url", "update"),
    ]
