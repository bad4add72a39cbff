"""Local-control-plane mode: make Kubernetes resources complete on an API server that runs no controllers.

The e2e tests and `make demo` run the real engine against etcd + kube-apiserver only (devtools/cluster/controlplane.py):
no scheduler, no kubelet, no namespace controller, no garbage collector. pulumi-kubernetes would wait up to 10
minutes for each Deployment rollout, Job completion and Service endpoint that can never happen there, and its
default Foreground deletes would wait for a garbage collector. This stack transform adds to every Kubernetes resource

- `pulumi.com/skipAwait: "true"`: create/update return once the API server accepted the object;
- `pulumi.com/deletionPropagationPolicy: background`: deletes do not wait for dependents.

Enabled by the stack config key `kyma-connectors:localControlPlane: true` (only `Pulumi.local.yaml` sets it); never
for a real cluster, where awaiting readiness is what makes `pulumi up` trustworthy.
"""

from __future__ import annotations

from typing import Any, Final

import pulumi

CONFIG_KEY: Final = "localControlPlane"
ANNOTATIONS: Final[dict[str, str]] = {
    "pulumi.com/skipAwait": "true",
    "pulumi.com/deletionPropagationPolicy": "background",
}


def is_enabled(config: pulumi.Config | None = None) -> bool:
    """Whether the stack asks for local mode (`kyma-connectors:localControlPlane`, default false)."""
    return bool((config or pulumi.Config("kyma-connectors")).get_bool(CONFIG_KEY))


def annotate(props: dict[str, Any]) -> dict[str, Any]:
    """Props with the local-mode annotations merged into `metadata.annotations` (explicit values win)."""
    metadata = props.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    annotations = metadata.get("annotations")
    merged = dict(ANNOTATIONS)
    if isinstance(annotations, dict):
        merged.update(annotations)
    metadata["annotations"] = merged
    return {**props, "metadata": metadata}


def _transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    if not args.custom or not args.type_.startswith("kubernetes:"):
        return None
    if not isinstance(args.props, dict):
        return None
    return pulumi.ResourceTransformResult(props=annotate(args.props), opts=args.opts)


def register(enabled: bool | None = None) -> bool:
    """Register the transform for this stack when local mode is on; call once, before creating resources."""
    if enabled is None:
        enabled = is_enabled()
    if enabled:
        pulumi.runtime.register_resource_transform(_transform)
    return enabled
