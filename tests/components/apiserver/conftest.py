"""The local control plane's fixtures for the API-server checks of the components (tests/support/controlplane.py)."""

from tests.support.controlplane import control_plane, kube_api  # noqa: F401  (pytest fixtures)
