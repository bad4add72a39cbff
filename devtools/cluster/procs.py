"""Background processes recorded by pid file: start them detached, find them again, stop exactly them.

The control plane and the demo start long-lived local processes (etcd, kube-apiserver, the GitHub and publisher
doubles, the event gateway) that must outlive the command that started them and be stopped later by another
command. A pid file alone is not enough (pids are reused), so a process only counts as ours when its command line
still carries the expected marker: the binary's name, or the module name after `python -m`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path


class ClusterError(Exception):
    """Base of the local cluster's errors (control plane, node, images): what could not be started or built."""


class MissingTool(ClusterError):
    """A program the local cluster needs is not on PATH."""


def require(name: str, how: str) -> str:
    """The path of program ``name`` on PATH, or MissingTool saying ``how`` to get it."""
    found = shutil.which(name)
    if not found:
        raise MissingTool(f"{name!r} not found on PATH: {how}")
    return found


def spawn(run_dir: Path, name: str, argv: list[str], env: Mapping[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session, output to `<run_dir>/<name>.log`; record its pid in `<name>.pid`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=cwd or run_dir, env=dict(env) if env else None)
    (run_dir / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc


def _argv(pid: int) -> list[str]:
    """A process's command line. Right after spawning, /proc shows an empty one until the exec completes
    (Popen may return first), so an empty answer is retried for up to a second."""
    for _ in range(20):
        argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
        if argv:
            return argv
        time.sleep(0.05)
    return []


def alive(run_dir: Path, name: str, marker: str) -> int | None:
    """The recorded pid of `name` if that process still runs with `marker` in its command line."""
    try:
        pid = int((run_dir / f"{name}.pid").read_text().strip())
        argv = _argv(pid)
    except (OSError, ValueError):
        return None
    if not argv:
        return None
    return pid if Path(argv[0]).name == marker or marker in argv[1:] else None


def stop(run_dir: Path, name: str, marker: str, log: Callable[[str], None], grace: float = 15.0) -> bool:
    """SIGTERM the recorded process (SIGKILL after `grace` seconds); True when one was running."""
    pid = alive(run_dir, name, marker)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(run_dir, name, marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(run_dir, name, marker):
        os.kill(pid, signal.SIGKILL)
    (run_dir / f"{name}.pid").unlink(missing_ok=True)
    log(f"stopped {name} (pid {pid})")
    return True


def log_tail(run_dir: Path, name: str, lines: int = 15) -> str:
    path = run_dir / f"{name}.log"
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
