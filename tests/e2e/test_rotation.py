"""A webhook secret rotation and the loss of a gateway pod while GitHub delivers a steady stream of signed pushes.

The documented two-phase rotation (docs/configuration.md): (1) new `webhookSecret`, old one as
`previousWebhookSecret`, `pulumi up` -- the gateway rolls to accept both, then the hook switches; (2) drop
`previousWebhookSecret`, `pulumi up` -- the gateway rolls to accept only the new one. Then one gateway pod is deleted
(a drain, an eviction). All of it on the real node, at 20 deliveries/s for at least 60 s: every delivery must be
answered 2xx (GitHub never retries a failed one) and every one must reach the publisher pod.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.cluster import stack as driver
from devtools.cluster.kubeapi import KubeApi, KubeApiError, wait_for
from tests.e2e.conftest import GitHubDoubleProcess
from tests.e2e.flows import Subject, emit, hook_deliveries, hooks, published_events, publisher_url, push_payload
from tests.e2e.project import Project, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900), pytest.mark.usefixtures("program_ready")]

SUBJECT = Subject(connector="github-rotation", namespace="kc-rotation", repository="octo-org/rotation")
OLD_SECRET, NEW_SECRET = "rotation-secret-old", "rotation-secret-new"
RATE_PER_S = 20
MIN_SECONDS, MAX_SECONDS = 60.0, 300.0


class Stream:
    """`RATE_PER_S` pushes a second on the repository, paced by the clock, until stopped (after `MIN_SECONDS` at
    the earliest, `MAX_SECONDS` at the latest). Each emit waits for the double's delivery answer, so they run on a
    pool: a slow answer does not slow the stream."""

    def __init__(self, github: GitHubDoubleProcess, repository: str) -> None:
        self.github, self.repository = github, repository
        self.payload = push_payload()
        self.sent: list[Future[int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delivery-stream", daemon=True)
        self.seconds = 0.0

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16, thread_name_prefix="emit") as pool:
            for n in range(int(MAX_SECONDS * RATE_PER_S)):
                due = started + n / RATE_PER_S
                elapsed = time.monotonic() - started
                if self._stop.is_set() and elapsed >= MIN_SECONDS:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                self.sent.append(pool.submit(emit, self.github, self.repository, "push", self.payload))
        self.seconds = time.monotonic() - started


@pytest.fixture
def rotation(e2e_plane: Path, github_double: GitHubDoubleProcess, state_dir: Path,
             tmp_path: Path) -> Iterator[Project]:
    project = make_project(tmp_path, "rotation", state_dir, e2e_plane)
    project.set_config(SUBJECT.config(github_double.url, ["push"]),
                       {"connectors[0].credentials.token": github_double.token,
                        "connectors[0].webhookSecret": OLD_SECRET})
    yield project
    try:
        driver.run("destroy", project.stack, quiet=True)
    except driver.StackError as exc:
        print(f"cleanup destroy failed: {exc}")


def _timed(what: str, marks: list[str], action: Any) -> None:
    started, wall = time.monotonic(), time.strftime("%H:%M:%S", time.gmtime())
    action()
    marks.append(f"{what}: {time.monotonic() - started:.1f} s from {wall}")


def test_rotation_and_a_deleted_pod_lose_no_delivery(rotation: Project, e2e_api: KubeApi,
                                                     github_double: GitHubDoubleProcess) -> None:
    project, api, github = rotation, e2e_api, github_double
    driver.run("up", project.stack, quiet=True)
    outputs = project.stack.outputs()["connectors"].value[SUBJECT.connector]
    (hook,) = (h for h in hooks(github) if h["target"] == SUBJECT.repository)
    SUBJECT.route(github, api, outputs["webhookUrl"])
    publisher = publisher_url(api)
    requests.delete(f"{publisher}/events", timeout=10).raise_for_status()
    marks: list[str] = []

    with Stream(github, SUBJECT.repository) as stream:
        time.sleep(5)
        # Phase 1: the gateway rolls to accept both secrets, and only then does the hook sign with the new one.
        project.set_config({}, {"connectors[0].webhookSecret": NEW_SECRET,
                                "connectors[0].previousWebhookSecret": OLD_SECRET})
        _timed("phase 1 up", marks, lambda: driver.run("up", project.stack, quiet=True))
        assert next(h for h in hooks(github) if h["id"] == hook["id"])["config"]["secret"] == NEW_SECRET
        # Phase 2: the old secret is no longer accepted.
        project.remove_config("connectors[0].previousWebhookSecret")
        _timed("phase 2 up", marks, lambda: driver.run("up", project.stack, quiet=True))
        # A gateway pod goes away (a drain, an eviction): its spool is drained before it exits.
        victim = SUBJECT.gateway_pods(api)[0]["metadata"]["name"]
        marks.append(f"delete {victim} at {time.strftime('%H:%M:%S', time.gmtime())}")
        api.delete(f"/api/v1/namespaces/{SUBJECT.namespace}/pods/{victim}")
        wait_for(lambda: api.get(f"/api/v1/namespaces/{SUBJECT.namespace}/pods/{victim}") is None, 120,
                 f"gateway pod {victim} to be gone")
        time.sleep(5)
        stream.stop()

    sent = [future.result() for future in stream.sent]
    assert sent == [1] * len(sent), "every push goes to exactly the one hook"
    assert len(sent) >= MIN_SECONDS * RATE_PER_S * 0.95, f"{len(sent)} pushes in {stream.seconds:.0f} s"
    deliveries = [d for d in hook_deliveries(github, hook["id"]) if d["event"] == "push"]
    assert len(deliveries) == len(sent)
    refused = [(d["delivered_at"], d["status_code"], d["status"]) for d in deliveries
               if not 200 <= d["status_code"] < 300]
    assert refused == [], f"{len(refused)} of {len(deliveries)} refused ({marks}): {refused[:20]}"
    guids = {d["guid"] for d in deliveries}
    try:
        wait_for(lambda: guids <= {event["id"] for event in published_events(publisher)}, 60,
                 "the publisher pod to receive every acknowledged delivery", interval=1.0)
    except KubeApiError:
        missing = guids - {event["id"] for event in published_events(publisher)}
        pytest.fail(f"{len(missing)} of {len(guids)} acknowledged deliveries never reached the publisher ({marks})")
    print(f"{len(deliveries)} deliveries in {stream.seconds:.0f} s, all 2xx and published; {'; '.join(marks)}")
