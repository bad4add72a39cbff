"""The node's configuration, checked without starting it (the running node is exercised by the e2e plane)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.cluster import images, node, procs


def test_token_lines_give_each_identity_its_user_and_groups() -> None:
    tokens = {identity.name: f"tok-{identity.name}" for identity in node.IDENTITIES}
    rows = [line.split(",") for line in node.token_lines(tokens).splitlines()]
    assert ["tok-kubelet", "system:node:kc-node", "system:node:kc-node", "system:nodes"] in rows
    assert ["tok-kube-proxy", "system:kube-proxy", "system:kube-proxy"] in rows
    assert len(rows) == len(node.IDENTITIES)


@pytest.mark.parametrize(("capeff", "restricted"), [("000001fffeffffff", True), ("000001ffffffffff", False)])
def test_oom_score_restriction_follows_cap_sys_resource(capeff: str, restricted: bool) -> None:
    assert node.restricted_oom_score(f"Name:\tx\nCapEff:\t{capeff}\n") is restricted


def test_kubelet_accepts_cgroup_v1_and_uses_cluster_dns(tmp_path: Path) -> None:
    config = node.kubelet_config(node.Paths(tmp_path), tmp_path / "ca.crt")
    assert config["failCgroupV1"] is False
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["clusterDNS"] == [node.DNS_SERVICE_IP]
    assert config["authentication"]["anonymous"]["enabled"] is False


def test_configs_agree_on_socket_network_and_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node, "binary", lambda name: f"/usr/bin/{name}")
    paths = node.Paths(tmp_path)
    node.write_configs(paths, tmp_path / "ca.crt")
    containerd = paths.containerd_config.read_text()
    assert f"address = '{paths.containerd_socket}'" in containerd
    assert f"sandbox = '{images.PAUSE_REF}'" in containerd
    assert f"conf_dir = '{paths.cni_conf_dir}'" in containerd
    cni = json.loads((paths.cni_conf_dir / "10-kc.conflist").read_text())
    assert cni["plugins"][0]["bridge"] == node.BRIDGE
    assert cni["plugins"][0]["ipam"]["ranges"] == [[{"subnet": node.POD_CIDR, "gateway": node.NODE_IP}]]
    assert f"bind {node.NODE_IP}" in (paths.root / "Corefile").read_text()


def test_a_missing_binary_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(procs.MissingTool, match="'kubelet' not found on PATH: run `make toolchain`"):
        node.binary("kubelet")


def test_one_node_per_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plane may take (and release) the host's node pieces only while no other plane's node agent runs."""
    monkeypatch.setattr(node, "OWNER_FILE", tmp_path / "node-owner")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    assert node.owns_host(second)  # nobody holds the host yet
    (tmp_path / "node-owner").write_text(f"{first}\n")
    assert node.owns_host(first)
    assert node.owns_host(second)  # the owner's agents are not running: a stale claim
    link = tmp_path / "bin" / "containerd"  # a real process that looks like the owner's containerd
    link.parent.mkdir()
    link.symlink_to("/bin/sleep")
    agent = procs.spawn(first, "containerd", [str(link), "30"])
    try:
        assert node.owns_host(first)
        assert not node.owns_host(second)
        released: list[str] = []
        node.release_host(second, released.append)
        assert "left it alone" in released[0]
        assert (tmp_path / "node-owner").read_text().strip() == str(first)
    finally:
        agent.kill()
        agent.wait()
