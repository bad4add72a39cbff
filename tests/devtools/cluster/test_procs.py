"""devtools/cluster/procs.py: a recorded process is found again only while it runs what was started, and stopped
exactly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devtools.cluster import procs

pytestmark = pytest.mark.timeout(30)


@pytest.mark.slow
def test_spawn_alive_stop(tmp_path: Path) -> None:
    proc = procs.spawn(tmp_path, "sleeper", [sys.executable, "-c", "import time; time.sleep(60)", "sleeper-marker"])
    try:
        assert procs.alive(tmp_path, "sleeper", "sleeper-marker") == proc.pid
        assert procs.alive(tmp_path, "sleeper", "something-else") is None  # a reused pid would not match
        stopped: list[str] = []
        assert procs.stop(tmp_path, "sleeper", "sleeper-marker", stopped.append)
        assert proc.wait(timeout=10) is not None
        assert stopped == [f"stopped sleeper (pid {proc.pid})"]
        assert procs.alive(tmp_path, "sleeper", "sleeper-marker") is None
        assert not procs.stop(tmp_path, "sleeper", "sleeper-marker", stopped.append)  # idempotent
    finally:
        proc.kill()


def test_output_goes_to_the_log(tmp_path: Path) -> None:
    proc = procs.spawn(tmp_path, "echo", [sys.executable, "-c", "print('hello from the child')"])
    proc.wait(timeout=10)
    assert procs.log_tail(tmp_path, "echo") == "hello from the child"
    assert procs.log_tail(tmp_path, "missing") == ""
