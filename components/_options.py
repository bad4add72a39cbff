"""Resource options for a component's children: parented to the component, and held back by what it waits for.

Why not a transformation: a component's own ``depends_on`` does not hold back its children, so the Connector used to
add its dependencies to every descendant through an inherited ``transformations`` entry -- a callback and a
``ResourceOptions.merge`` per resource, about 2 ms per connector (bench/bench_program.py). Each component instead
builds one options object for all its children, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi


def declared_dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources in ``opts.depends_on`` (a single resource or a list; Outputs of resources are not supported)."""
    declared = opts.depends_on if opts is not None else None
    if declared is None:
        return []
    items = declared if isinstance(declared, Sequence) else [declared]
    return [item for item in items if isinstance(item, pulumi.Resource)]


def child_options(component: pulumi.Resource, opts: pulumi.ResourceOptions | None, *extra: pulumi.Resource,
                  **options: Any) -> pulumi.ResourceOptions:
    """``parent=component``, ``depends_on`` = the component's own dependencies (from ``opts``) plus ``extra``, and
    any further ``ResourceOptions`` keyword (``delete_before_replace=True``...)."""
    deps = [*declared_dependencies(opts), *extra]
    return pulumi.ResourceOptions(parent=component, depends_on=deps or None, **options)
