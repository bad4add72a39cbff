"""Fixtures of the reconciler's evidence tests: the local control plane, the doubles, a rig per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.cluster.kubeapi import KubeApi
from devtools.doubles.github import GitHubDouble
from devtools.doubles.qualtrics import QualtricsDouble
from tests.kyma_connectors.reconciler.harness import TOKEN, Rig
from tests.support.controlplane import control_plane, kube_api  # noqa: F401  (pytest fixtures)

REPOSITORY = "octo-org/widgets"


@pytest.fixture
def github() -> Iterator[GitHubDouble]:
    with GitHubDouble(tokens=(TOKEN,)) as double:
        yield double


@pytest.fixture
def qualtrics() -> Iterator[QualtricsDouble]:
    with QualtricsDouble(tokens=(TOKEN,)) as double:
        yield double


@pytest.fixture
def github_rig(control_plane: Path, kube_api: KubeApi, github: GitHubDouble,  # noqa: F811
               tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(kube=kube_api, kubeconfig=control_plane, tmp=tmp_path, solution="github", api_url=github.url,
              targets=(REPOSITORY,))
    yield rig
    rig.close()


@pytest.fixture
def qualtrics_rig(control_plane: Path, kube_api: KubeApi, qualtrics: QualtricsDouble,  # noqa: F811
                  tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(kube=kube_api, kubeconfig=control_plane, tmp=tmp_path, solution="qualtrics", api_url=qualtrics.url,
              app=f"qualtrics-rt{uuid.uuid4().hex[:6]}")
    yield rig
    rig.close()
