"""Fixtures for the tooling tests: the session's local control plane (tests/support/controlplane.py)."""

from tests.support.controlplane import control_plane, kube_api  # noqa: F401  (pytest fixtures)
