from __future__ import annotations

from pathlib import Path

import pytest
import requests

from devtools.doubles import process as doubles


def test_a_started_double_answers_at_the_url_it_printed_and_stops_on_exit() -> None:
    with doubles.running("devtools.doubles.registry") as double:
        assert requests.get(f"{double.url}/acme/v1/health", timeout=5).status_code == 200
        assert double.process.poll() is None
    assert double.process.returncode is not None


def test_a_double_that_exits_before_listening_fails_with_its_own_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(doubles.DoubleStartError) as caught, \
            doubles.running("devtools.doubles.github", "--spec", str(missing)):
        pytest.fail("a double without its spec must not start")
    assert "devtools.doubles.github did not start" in str(caught.value)
    assert "missing.json" in str(caught.value)  # the double's own message, read from its error output
