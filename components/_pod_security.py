"""Pod security settings shared by the workloads this program runs (registration Job, event gateway).

Why one module: both workloads must meet the Kubernetes "restricted" Pod Security Standard (non-root, no privilege
escalation, all capabilities dropped, seccomp ``RuntimeDefault``) plus a read-only root filesystem, and the policy pack
in ``kyma_connectors/policy/`` checks exactly these fields. Building them in one place keeps the two workloads and the
policy in step.
"""

from __future__ import annotations

from typing import Final

import pulumi_kubernetes as k8s

RUN_AS_USER: Final[int] = 10001
"""Non-root UID (and GID) of our images (see the services' Dockerfiles); above the 10000 range distros hand out."""

TMP_VOLUME: Final[str] = "tmp"
"""An emptyDir mounted at ``/tmp``: Python writes temporary files there and the root filesystem is read-only."""


def pod_security_context() -> k8s.core.v1.PodSecurityContextArgs:
    """Pod-level settings of the restricted profile; ``fs_group`` makes mounted volumes writable for our UID."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        fs_group=RUN_AS_USER,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def container_security_context() -> k8s.core.v1.SecurityContextArgs:
    """Container-level settings of the restricted profile, plus a read-only root filesystem."""
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def tmp_volume() -> k8s.core.v1.VolumeArgs:
    """A small memory-backed ``/tmp``; 64Mi bounds what a runaway writer can take from the node."""
    return k8s.core.v1.VolumeArgs(
        name=TMP_VOLUME, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium="Memory", size_limit="64Mi")
    )


def tmp_mount() -> k8s.core.v1.VolumeMountArgs:
    return k8s.core.v1.VolumeMountArgs(name=TMP_VOLUME, mount_path="/tmp")  # noqa: S108 -- a private emptyDir

