"""Control-plane helpers that need no API server."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.cluster.controlplane import crd_established


@pytest.mark.parametrize(("crd", "expected"), [
    (None, False),
    ({}, False),
    ({"status": None}, False),
    ({"status": {"conditions": None}}, False),  # what a freshly created CRD can answer (seen in CI)
    ({"status": {"conditions": [{"type": "NamesAccepted", "status": "True"}]}}, False),
    ({"status": {"conditions": [{"type": "Established", "status": "False"}]}}, False),
    ({"status": {"conditions": [{"type": "NamesAccepted", "status": "True"},
                                {"type": "Established", "status": "True"}]}}, True),
])
def test_crd_established_reads_conditions_defensively(crd: dict[str, Any] | None, expected: bool) -> None:
    assert crd_established(crd) is expected
