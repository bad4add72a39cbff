"""Image pull Secrets for every pod the connector runs (stack config ``images.pullSecrets``).

One list for the gateway, the registration Job and the hook reconciler: they all pull from the same registry. The
Secrets (type ``kubernetes.io/dockerconfigjson``) are the operator's, created in the connector's namespace beforehand
(``kubectl create secret docker-registry``): a registry credential is not the program's to hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi_kubernetes as k8s


def pull_secrets(names: Sequence[str]) -> list[k8s.core.v1.LocalObjectReferenceArgs] | None:
    """The pod spec's ``imagePullSecrets``; None (the field left out) when there are none."""
    return [k8s.core.v1.LocalObjectReferenceArgs(name=name) for name in names] or None
