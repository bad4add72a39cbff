"""The control planes a test session may start side by side never share a loopback port."""

from __future__ import annotations

from itertools import combinations

from tests.support.controlplane import PLANES


def _ports(name: str) -> set[int]:
    settings = PLANES[name].settings()
    return {settings.apiserver_port, settings.etcd_port, settings.etcd_peer_port}


def test_every_pair_of_planes_uses_disjoint_ports_and_run_dirs() -> None:
    for first, second in combinations(PLANES, 2):
        assert not _ports(first) & _ports(second), f"{first} and {second} share a port"
        assert PLANES[first].run_dir != PLANES[second].run_dir
        assert PLANES[first].prefix != PLANES[second].prefix


def test_a_plane_takes_rbac_authorization_when_asked() -> None:
    assert PLANES["rbac"].settings(authorization="RBAC").authorization == "RBAC"
    assert PLANES["rbac"].settings().authorization == "AlwaysAllow"
