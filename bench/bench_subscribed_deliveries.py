"""Deliveries a GitHub repository sends in a day, ``events: all`` vs ``events: subscribed`` with one Subscription.

Not a test: it prints figures (docs/subscriptions.md records them with this command)::

    .venv/bin/python bench/bench_subscribed_deliveries.py [--seed 7] [--scale 1.0]

Both hooks sit on the same repository of the loopback GitHub double (devtools/doubles/github), each pointing at its
own path of one counting receiver on 127.0.0.1:

* ``all``: the hook subscribes to every subscribable event of the catalog (the default of ``events``);
* ``subscribed``: the hook's events are set by the hook reconciler's own code (``wanted.decide`` +
  ``hooks.apply``) for a single Subscription for ``push`` -- what a cluster with one push consumer gets.

The activity is a synthetic day of a busy repository that runs GitHub Actions on every commit (counts below, drawn
with a seeded RNG around these means); each delivery carries a real payload from ../shared/github/payloads for its
event and action, so bytes are GitHub-sized. Only events the catalog subscribes to count for ``all``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from devtools.doubles.github import GitHubDouble  # noqa: E402 - after the path set-up
from kyma_connectors.core.catalog import load_catalog  # noqa: E402
from kyma_connectors.core.eventing import TypeMatching  # noqa: E402
from kyma_connectors.hooks.transport import RetryPolicy, SystemClock  # noqa: E402
from kyma_connectors.reconciler import hooks  # noqa: E402
from kyma_connectors.reconciler.settings import Credentials, Settings  # noqa: E402
from kyma_connectors.reconciler.wanted import SubscriptionView, decide  # noqa: E402

PAYLOADS = Path(os.environ.get("KC_SHARED", REPO.parent / "shared")) / "github" / "payloads"
TOKEN = "ghp_bench_token"  # noqa: S105 -- the loopback double's test token
TARGET = "octo-org/widgets"
COMMITS_PER_DAY = 70
"""Pushes to branches plus PR ``synchronize`` events: each starts CI."""
WORKFLOWS_PER_COMMIT, JOBS_PER_WORKFLOW = 2, 4
DAY: dict[tuple[str, str | None], float] = {
    ("push", None): 40, ("pull_request", "opened"): 6, ("pull_request", "synchronize"): 30,
    ("pull_request", "closed"): 6, ("pull_request", "labeled"): 8, ("pull_request", "review_requested"): 6,
    ("pull_request_review", "submitted"): 12, ("issues", "opened"): 5, ("issues", "closed"): 4,
    ("issues", "labeled"): 6, ("issue_comment", "created"): 30, ("create", None): 8, ("delete", None): 6,
    ("release", "published"): 1, ("star", "created"): 3, ("fork", None): 1, ("status", None): 140,
    ("workflow_run", "requested"): COMMITS_PER_DAY * WORKFLOWS_PER_COMMIT,
    ("workflow_run", "in_progress"): COMMITS_PER_DAY * WORKFLOWS_PER_COMMIT,
    ("workflow_run", "completed"): COMMITS_PER_DAY * WORKFLOWS_PER_COMMIT,
    ("workflow_job", "queued"): COMMITS_PER_DAY * WORKFLOWS_PER_COMMIT * JOBS_PER_WORKFLOW,
    ("workflow_job", "in_progress"): COMMITS_PER_DAY * WORKFLOWS_PER_COMMIT * JOBS_PER_WORKFLOW,
    ("workflow_job", "completed"): COMMITS_PER_DAY * WORKFLOWS_PER_COMMIT * JOBS_PER_WORKFLOW,
    ("check_suite", "completed"): COMMITS_PER_DAY * WORKFLOWS_PER_COMMIT,
    ("check_run", "created"): COMMITS_PER_DAY * WORKFLOWS_PER_COMMIT * JOBS_PER_WORKFLOW,
    ("check_run", "completed"): COMMITS_PER_DAY * WORKFLOWS_PER_COMMIT * JOBS_PER_WORKFLOW,
}


class Receiver(BaseHTTPRequestHandler):
    counts: ClassVar[Counter[str]] = Counter()
    octets: ClassVar[Counter[str]] = Counter()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(size)
        with self.lock:
            self.counts[self.path] += 1
            self.octets[self.path] += size
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def payload_for(event: str, action: str | None) -> dict[str, Any]:
    folder = PAYLOADS / event
    files = sorted(folder.glob(f"{action}*.json")) if action else []
    files = files or sorted(folder.glob("*.json"))
    if not files:
        return {"action": action} if action else {}
    loaded: dict[str, Any] = json.loads(files[0].read_text(encoding="utf-8"))
    return loaded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the day's activity")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    catalog = load_catalog("github")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with GitHubDouble(tokens=(TOKEN,)) as double:
        world = double.world
        all_events = catalog.subscriptions(hook="repository")
        world.new_hook("repo", TARGET, all_events, True, {"url": f"{base}/all", "content_type": "json"})
        world.new_hook("repo", TARGET, ["push"], False, {"url": f"{base}/subscribed", "content_type": "json"})
        push_type = catalog.type_for("push")
        assert push_type is not None
        wanted = decide([SubscriptionView(namespace="ext", name="on-push", source="github-bench", types=(push_type,),
                                          matching=TypeMatching.STANDARD)], source="github-bench", catalog=catalog)
        settings = Settings(application="github-bench", solution="github", source="github-bench",
                            api_url=double.url, targets=(TARGET,), webhook_url=f"{base}/subscribed",
                            credentials_dir=Path("/nonexistent"))
        credentials = Credentials(token=TOKEN, app_id=None, installation_id=None, private_key=None,
                                  webhook_secret=None)
        applied = hooks.apply(settings, credentials, wanted.events, catalog, policy=RetryPolicy(),
                              clock=SystemClock())
        activity = [(event, action) for (event, action), mean in DAY.items()
                    for _ in range(max(0, round(rng.gauss(mean, mean ** 0.5) * args.scale)))]
        rng.shuffle(activity)
        for event, action in activity:
            world.emit("repo", TARGET, event, payload_for(event, action))
    server.shutdown()
    generated = len(activity)
    print(f"synthetic day: {generated} repository events (seed {args.seed}, scale {args.scale}); "
          f"catalog subscribes to {len(all_events)} GitHub events")
    print(f"subscribed hook after the reconciler: {applied[0].detail}")
    for path in ("/all", "/subscribed"):
        print(f"  events: {path[1:]:<10} deliveries {Receiver.counts[path]:>6}   "
              f"payload bytes {Receiver.octets[path] / 1e6:>7.2f} MB")
    saved = 1 - Receiver.counts["/subscribed"] / max(1, Receiver.counts["/all"])
    saved_bytes = 1 - Receiver.octets["/subscribed"] / max(1, Receiver.octets["/all"])
    print(f"  saved by events: subscribed: {saved:.1%} of deliveries, {saved_bytes:.1%} of bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
