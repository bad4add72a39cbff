"""``python -m devtools.doubles.github --port N [--token T ...] [--spec PATH]``: serve the GitHub double until
interrupted.

Prints the base URL as the first line of stdout (flushed), so a script can read it and pass it as ``api_url``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from devtools.doubles.github.contract import Contract, default_spec_path
from devtools.doubles.github.server import GitHubDouble


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.doubles.github", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument("--token", action="append", default=[], help="accept this token with full hook scopes")
    parser.add_argument("--rate-limit", type=int, default=5000, help="requests per hour per token (GitHub: 5000)")
    parser.add_argument("--spec", type=Path, default=None, help="rest-hooks-openapi.json (default: ../shared)")
    args = parser.parse_args(argv)
    spec = args.spec or default_spec_path()
    if not spec.is_file():
        print(f"GitHub's hooks description not found at {spec}: pass --spec or set KC_SHARED", file=sys.stderr)
        return 2
    double = GitHubDouble(args.port, contract=Contract.load(spec), tokens=tuple(args.token), rate_limit=args.rate_limit)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    double.start()
    print(double.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
