"""components/_local_mode.py: the annotations that let a controller-less API server finish every step."""

from __future__ import annotations

from typing import Any

import pulumi

from components import _local_mode


def _args(type_: str, props: Any, custom: bool = True) -> pulumi.ResourceTransformArgs:
    return pulumi.ResourceTransformArgs(custom=custom, type_=type_, name="x", props=props,
                                        opts=pulumi.ResourceOptions())


def test_annotations_are_merged_and_explicit_values_win() -> None:
    props = {"metadata": {"name": "gw", "annotations": {"pulumi.com/skipAwait": "false", "team": "a"}}, "spec": {}}
    result = _local_mode.annotate(props)
    assert result["metadata"]["annotations"] == {
        "pulumi.com/skipAwait": "false",  # set by the author on purpose: kept
        "pulumi.com/deletionPropagationPolicy": "background",
        "team": "a",
    }
    assert result["metadata"]["name"] == "gw"
    assert props["metadata"]["annotations"] == {"pulumi.com/skipAwait": "false", "team": "a"}  # input untouched


def test_objects_without_metadata_get_it() -> None:
    assert _local_mode.annotate({"data": {"a": "1"}})["metadata"] == {"annotations": _local_mode.ANNOTATIONS}


def test_transform_touches_only_kubernetes_custom_resources() -> None:
    deployment = _local_mode._transform(_args("kubernetes:apps/v1:Deployment", {"metadata": {}}))
    assert deployment is not None
    assert isinstance(deployment.props, dict)
    assert deployment.props["metadata"]["annotations"] == _local_mode.ANNOTATIONS
    assert _local_mode._transform(_args("kyma-connectors:index:Connector", {}, custom=False)) is None
    assert _local_mode._transform(_args("pulumi-python:dynamic:Resource", {"metadata": {}})) is None
    assert _local_mode._transform(_args("pulumi:providers:kubernetes", {})) is None


def test_register_is_a_no_op_when_disabled() -> None:
    assert _local_mode.register(enabled=False) is False
