"""A double run as its own process, the way an operator starts it: ``python -m devtools.doubles.<name> ...``.

Every double prints its base URL as the first line of its standard output once it listens (port 0 picks a free
one), so tests, benchmarks and the e2e suite start it the same way and read that line instead of guessing a port.
A double that exits before printing a URL fails with its own error output, not with a timeout somewhere later.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Final

from devtools.doubles.shared_data import REPO

STOP_GRACE_SECONDS: Final = 10.0


class DoubleStartError(RuntimeError):
    """The double exited, or printed something other than its URL, before listening."""


@dataclass(frozen=True)
class RunningDouble:
    """A started double: its base URL and its process (``returncode`` is set once it has stopped)."""

    url: str
    process: subprocess.Popen[str]


@contextmanager
def running(module: str, *args: str, env: Mapping[str, str] | None = None) -> Iterator[RunningDouble]:
    """Start ``python -m module *args`` from the repository root; SIGTERM it on exit (SIGKILL after a grace)."""
    # Error output goes to a file, not a pipe: a double that logs every request would block on a full pipe.
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, stdout=subprocess.PIPE,
                                   stderr=errors, text=True, env=dict(env) if env is not None else None)
        try:
            url = _first_line(process, module, errors)
            yield RunningDouble(url=url, process=process)
        finally:
            stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL when the process has not exited within the grace period."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _first_line(process: subprocess.Popen[str], module: str, errors: IO[str]) -> str:
    assert process.stdout is not None  # stdout=PIPE above
    line = process.stdout.readline().strip()
    if line.startswith(("http://", "https://")):
        return line
    stop(process)
    errors.seek(0)
    raise DoubleStartError(f"{module} did not start (first line {line!r}): {errors.read()[-2000:]}")


