"""`make demo` / `make demo-down` as a user runs them: the README's main command must work, and clean up after itself.

The demo runs on its own cluster, run dirs, ports and state here, so a developer's running demo is untouched (but it
needs the machine's one node: `make e2e` runs it after the other e2e tests have stopped theirs);
only the GitHub double's port is fixed (18081, the `apiUrl` of Pulumi.local.yaml), so the test is skipped while it
is taken.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from devtools.cluster.kubeapi import KubeApi
from tests.support.paths import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.demo, pytest.mark.timeout(600),
              pytest.mark.usefixtures("program_ready", "toolchain")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _json_after(output: str, heading: str) -> dict[str, object]:
    """The JSON document printed right after a `[demo n/8 ...] <heading>` line."""
    text = output.split(heading, 1)[1].split("\n", 1)[1]
    result: dict[str, object] = json.JSONDecoder().raw_decode(text)[0]
    return result


def test_demo_up_shows_the_cloudevent_and_outputs_then_down_cleans_up(tmp_path: Path) -> None:
    if _taken(18081):
        pytest.skip("127.0.0.1:18081 (the GitHub double's port in Pulumi.local.yaml) is taken, e.g. by a running demo")
    state = tmp_path / "state"
    state.mkdir()
    env = {
        **os.environ,
        "KC_RUN_DIR": str(tmp_path / "cp"), "KC_APISERVER_PORT": str(_free_port()),
        "KC_ETCD_PORT": str(_free_port()), "KC_ETCD_PEER_PORT": str(_free_port()),
        "KC_DEMO_RUN_DIR": str(tmp_path / "demo"), "PULUMI_BACKEND_URL": f"file://{state}",
    }
    env.pop("PULUMI_CONFIG_PASSPHRASE", None)  # the demo's own default must work
    try:
        up = subprocess.run(["make", "demo"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=480)
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        assert "written by the Job's pod" in up.stdout
        event = _json_after(up.stdout, "the CloudEvent the publisher pod received")
        assert event["type"] == "push.v1"
        assert event["source"] == "github-demo"
        assert event["specversion"] == "1.0"
        routing = json.JSONDecoder().raw_decode(
            up.stdout.split("whether Kyma eventing routes that event to it", 1)[1].split("\n", 1)[1])[0]
        assert routing == [{"subscription": "kyma-connectors/demo-extension", "source": routing[0]["source"],
                            "types": ["push.v1", "issues.opened.v1"], "receives": True,
                            "sink": "http://demo-extension.kyma-connectors.svc.cluster.local"}]
        outputs = _json_after(up.stdout, "stack outputs")
        connector = outputs["connectors"]["github-demo"]  # type: ignore[index]
        assert connector["webhookUrl"] == "https://github-demo-webhook.local.kyma.dev/webhook"
        assert connector["webhookIds"] == {"octo-org/hello-world": "1"}
        # The cluster stays up for the user, with the line that points kubectl at it.
        kubeconfig = Path(up.stdout.rsplit("export KUBECONFIG=", 1)[1].split()[0])
        with KubeApi.from_kubeconfig(kubeconfig) as api:
            pods = api.items("/api/v1/namespaces/kyma-connectors/pods")
        assert any(pod["status"].get("phase") == "Running" for pod in pods), [p["metadata"]["name"] for p in pods]
    finally:
        down = subprocess.run(["make", "demo-down"], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=240)
    assert down.returncode == 0, down.stdout[-3000:] + down.stderr[-3000:]
    assert "resources deleted" in down.stdout
    assert not (tmp_path / "cp").exists()
    assert not _taken(18081)
    assert not list((tmp_path / "demo").glob("*.pid"))
