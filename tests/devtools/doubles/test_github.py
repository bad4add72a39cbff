"""The GitHub double keeps to the published hooks contract, and records whoever (itself included) does not."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.doubles import process as doubles
from devtools.doubles.github import Contract, ContractViolation, GitHubDouble
from devtools.doubles.github.contract import to_json_schema
from tests.support.paths import GITHUB, REPO

pytestmark = pytest.mark.timeout(30)
TOKEN = "ghp_double_test"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "tests", "Accept": "application/vnd.github+json"}


@pytest.fixture
def gh() -> Iterator[GitHubDouble]:
    with GitHubDouble(tokens=(TOKEN,)) as double:
        yield double


def call(gh: GitHubDouble, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
    return requests.request(method, gh.url + path, json=body, headers=HEADERS | headers, timeout=5)


def create(gh: GitHubDouble, path: str = "/repos/o/r/hooks", url: str = "https://gw.example/w") -> dict[str, Any]:
    answer = call(gh, "POST", path, {"name": "web", "config": {"url": url, "content_type": "json"}})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_contract_covers_every_operation_of_the_description() -> None:
    contract = Contract.load(GITHUB / "rest-hooks-openapi.json")
    assert len(contract.operations) == 23
    routed = contract.route("POST", "/repos/o/r/hooks/5/deliveries/7/attempts")
    assert routed is not None
    assert routed.operation.operation_id == "repos/redeliver-webhook-delivery"
    assert routed.params == {"owner": "o", "repo": "r", "hook_id": 5, "delivery_id": 7}


def test_nullable_and_refs_translate_to_json_schema() -> None:
    contract = Contract.load(GITHUB / "rest-hooks-openapi.json")
    schema = to_json_schema({"$ref": "#/components/schemas/hook-response"}, contract.components)
    assert schema["properties"]["code"]["type"] == ["integer", "null"]
    item = to_json_schema({"$ref": "#/components/schemas/hook-delivery-item"}, contract.components)
    assert "description" not in item["properties"]["guid"]


def test_every_answer_carries_rate_limit_headers_that_count_down(gh: GitHubDouble) -> None:
    first = call(gh, "GET", "/repos/o/r/hooks")
    second = call(gh, "GET", "/orgs/o/hooks")
    assert int(first.headers["x-ratelimit-limit"]) == 5000
    assert int(second.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-remaining"]) - 1
    assert int(second.headers["x-ratelimit-reset"]) > 1_700_000_000
    assert second.headers["x-ratelimit-used"] == "2"


def test_spent_budget_answers_403_until_reset() -> None:
    """The hourly budget is enforced: request limit+1 gets GitHub's rate-limit 403 with remaining 0."""
    with GitHubDouble(tokens=(TOKEN,), rate_limit=2) as small:
        assert [call(small, "GET", "/repos/o/r/hooks").status_code for _ in range(3)] == [200, 200, 403]
        last = call(small, "GET", "/repos/o/r/hooks")
        assert last.headers["x-ratelimit-remaining"] == "0"
        assert "rate limit exceeded" in last.json()["message"]
        assert small.world.violations == []


def test_create_answers_201_with_location_and_masked_secret(gh: GitHubDouble) -> None:
    answer = call(gh, "POST", "/repos/o/r/hooks", {"config": {"url": "https://gw.example/w", "secret": "shh"}})
    hook = answer.json()
    assert answer.headers["Location"] == hook["url"]
    assert hook["config"]["secret"] == "********"
    assert hook["config"]["content_type"] == "form"  # GitHub's default, which is why clients must send json
    assert hook["last_response"] == {"code": 502, "status": "failed", "message": "failed to connect"}


def test_org_hooks_follow_the_org_hook_schema(gh: GitHubDouble) -> None:
    hook = create(gh, "/orgs/acme/hooks")
    assert hook["type"] == "Organization"
    assert "last_response" not in hook
    assert "test_url" not in hook
    assert call(gh, "POST", f"/orgs/acme/hooks/{hook['id']}/tests").status_code == 404  # repos only


def test_requests_outside_the_contract_are_rejected_and_recorded(gh: GitHubDouble) -> None:
    answer = call(gh, "POST", "/repos/o/r/hooks", {"config": {"url": "https://x"}, "colour": "red"})
    assert answer.status_code == 422
    assert "colour" in gh.world.violations[0]
    assert call(gh, "GET", "/repos/o/r/hooks?per_page=lots").status_code == 400
    assert call(gh, "GET", "/repos/o/r/hooks/abc").status_code == 404
    assert len(gh.world.violations) == 3


def test_own_answers_are_checked_too(gh: GitHubDouble) -> None:
    """A fault body that breaks the hook schema is caught as the double's own violation (500)."""
    requests.post(gh.url + "/_admin/faults", json={"status": 200, "body": [{"id": "not-an-int"}]}, timeout=5)
    answer = call(gh, "GET", "/repos/o/r/hooks")
    assert answer.status_code == 500
    assert gh.world.violations[0].startswith("response: repos/list-webhooks 200 body")


def test_headers_github_requires(gh: GitHubDouble) -> None:
    assert call(gh, "GET", "/repos/o/r/hooks", **{"User-Agent": ""}).status_code == 403
    assert call(gh, "GET", "/repos/o/r/hooks", **{"X-GitHub-Api-Version": "2001-01-01"}).status_code == 400
    assert call(gh, "GET", "/repos/o/r/hooks", Authorization="Bearer nope").json()["message"] == "Bad credentials"
    assert call(gh, "GET", "/repos/o/r/hooks", Authorization="").status_code == 401


def test_patch_without_secret_drops_it_as_github_does(gh: GitHubDouble) -> None:
    hook = call(gh, "POST", "/repos/o/r/hooks", {"config": {"url": "https://gw.example/w", "secret": "s"}}).json()
    patched = call(gh, "PATCH", f"/repos/o/r/hooks/{hook['id']}", {"config": {"url": "https://gw.example/w"}}).json()
    assert "secret" not in patched["config"]


def test_pagination_links_and_ghes_prefix(gh: GitHubDouble) -> None:
    for i in range(5):
        create(gh, url=f"https://gw.example/{i}")
    answer = requests.get(gh.url + "/api/v3/repos/o/r/hooks?per_page=2&page=2", headers=HEADERS, timeout=5)
    assert [h["config"]["url"] for h in answer.json()] == ["https://gw.example/2", "https://gw.example/3"]
    link = answer.headers["Link"]
    assert f'<{gh.url}/api/v3/repos/o/r/hooks?per_page=2&page=3>; rel="next"' in link
    assert 'rel="last"' in link
    assert answer.json()[0]["url"].startswith(gh.url + "/api/v3/repos/o/r/hooks/")


def test_deliveries_status_filter_and_bad_cursor(gh: GitHubDouble) -> None:
    hook_id = create(gh)["id"]
    hook = gh.world.hooks[hook_id]
    gh.world.record_delivery(hook, status_code=200)
    failed = call(gh, "GET", f"/repos/o/r/hooks/{hook_id}/deliveries?status=failure").json()
    assert [d["status_code"] for d in failed] == [502]  # the creation ping could not connect
    assert call(gh, "GET", f"/repos/o/r/hooks/{hook_id}/deliveries?cursor=garbage").status_code == 400
    assert call(gh, "GET", f"/repos/o/r/hooks/{hook_id}/deliveries?status=maybe").status_code == 400


def test_delivery_detail_and_redelivery_keep_the_guid(gh: GitHubDouble) -> None:
    hook_id = create(gh)["id"]
    first = call(gh, "GET", f"/repos/o/r/hooks/{hook_id}/deliveries").json()[0]
    detail = call(gh, "GET", f"/repos/o/r/hooks/{hook_id}/deliveries/{first['id']}").json()
    assert detail["request"]["payload"]["hook_id"] == hook_id
    assert call(gh, "POST", f"/repos/o/r/hooks/{hook_id}/deliveries/{first['id']}/attempts").status_code == 202
    newest = call(gh, "GET", f"/repos/o/r/hooks/{hook_id}/deliveries").json()[0]
    assert (newest["guid"], newest["redelivery"]) == (first["guid"], True)
    assert call(gh, "POST", f"/repos/o/r/hooks/{hook_id}/deliveries/999999/attempts").status_code == 422


def test_contract_violation_is_an_exception_type() -> None:
    contract = Contract.load(GITHUB / "rest-hooks-openapi.json")
    match = contract.route("DELETE", "/repos/o/r/hooks/1")
    assert match is not None
    with pytest.raises(ContractViolation, match="status 201 is not declared"):
        contract.check_response(
            match, 201, {"x-ratelimit-limit": "1", "x-ratelimit-remaining": "1", "x-ratelimit-reset": "1"}, None
        )
    with pytest.raises(ContractViolation, match="lacks header x-ratelimit-limit"):
        contract.check_response(match, 204, {}, None)


def test_standalone_without_the_description_says_where_it_looked(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devtools.doubles.github", "--spec", str(tmp_path / "missing.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert done.returncode == 2
    assert "missing.json" in done.stderr


@pytest.mark.timeout(30)
def test_runs_standalone_and_prints_its_url() -> None:
    """`python -m devtools.doubles.github --port 0 --token T`: first line is the URL; the API and admin API answer."""
    with doubles.running("devtools.doubles.github", "--port", "0", "--token", TOKEN) as double:
        assert double.url.startswith("http://127.0.0.1:")
        made = requests.post(
            double.url + "/repos/o/r/hooks", json={"config": {"url": "https://x.example/"}}, headers=HEADERS, timeout=5
        )
        assert made.status_code == 201
        listed = requests.get(double.url + "/_admin/hooks", timeout=5).json()
        assert json.loads(json.dumps(listed))[0]["id"] == made.json()["id"]
    assert double.process.returncode == 0  # SIGTERM is a clean stop


def test_patch_without_config_keeps_the_secret(gh: GitHubDouble) -> None:
    """``events``/``active`` alone leave ``config`` (and so the secret) as it was -- what the hook reconciler sends."""
    hook = call(gh, "POST", "/repos/o/r/hooks", {"config": {"url": "https://gw.example/w", "secret": "s"}}).json()
    patched = call(gh, "PATCH", f"/repos/o/r/hooks/{hook['id']}", {"events": ["issues"], "active": False}).json()
    assert (patched["events"], patched["active"], patched["config"]["secret"]) == (["issues"], False, "********")


def test_activity_reaches_active_subscribed_hooks_and_the_orgs(gh: GitHubDouble) -> None:
    world = gh.world
    wants_push = world.new_hook("repo", "o/r", ["push"], True, {"url": "http://127.0.0.1:9/push"})
    wants_all = world.new_hook("repo", "o/r", ["*"], True, {"url": "http://127.0.0.1:9/all"})
    paused = world.new_hook("repo", "o/r", ["push"], False, {"url": "http://127.0.0.1:9/paused"})
    issues_only = world.new_hook("repo", "o/r", ["issues"], True, {"url": "http://127.0.0.1:9/issues"})
    org = world.new_hook("org", "o", ["push"], True, {"url": "http://127.0.0.1:9/org"})
    other_repo = world.new_hook("repo", "o/other", ["push"], True, {"url": "http://127.0.0.1:9/other"})
    sent = world.emit("repo", "o/r", "push", {"ref": "refs/heads/main"})
    assert {d.guid for d in sent} == {d.guid for h in (wants_push, wants_all, org) for d in h.deliveries}
    assert paused.deliveries == issues_only.deliveries == other_repo.deliveries == []
    answer = requests.post(gh.url + "/_admin/activity", json={"scope": "repo", "target": "o/r", "event": "issues",
                                                              "payload": {"action": "opened"}}, timeout=5)
    assert answer.json() == {"deliveries": 2}  # issues_only and wants_all


def test_ingress_routes_a_hook_host_to_a_service_keeping_path_and_query(gh: GitHubDouble) -> None:
    import http.server
    import threading

    seen: list[tuple[str, str]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, self.headers["X-GitHub-Event"]))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = gh.world.new_hook("repo", "o/r", ["push"], True, {"url": "https://hooks.example/webhook?x=1"})
        assert [d.status_code for d in gh.world.emit("repo", "o/r", "push", {})] == [502]  # not loopback, no route
        base = f"http://127.0.0.1:{server.server_address[1]}"
        answer = requests.put(gh.url + "/_admin/ingress", json={"hooks.example": base}, timeout=5)
        assert answer.json() == {"hooks.example": base}
        assert [d.status_code for d in gh.world.emit("repo", "o/r", "push", {})] == [202]
        assert seen == [("/webhook?x=1", "push")]
        requests.put(gh.url + "/_admin/ingress", json={"hooks.example": ""}, timeout=5).raise_for_status()
        assert [d.status_code for d in gh.world.emit("repo", "o/r", "push", {})] == [502]
        assert len(hook.deliveries) == 3
    finally:
        server.shutdown()
        server.server_close()
