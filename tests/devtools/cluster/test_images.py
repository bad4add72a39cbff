"""Image cache keys and archive names, checked without building (the node's e2e plane builds them)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from devtools.cluster import images


def _archive(path: Path, index: dict[str, object]) -> Path:
    with tarfile.open(path, "w") as tar:
        data = json.dumps(index).encode()
        info = tarfile.TarInfo("index.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_the_key_follows_the_dockerfile_and_the_context(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text("FROM a\n")
    two.write_text("FROM b\n")
    key = images.image_key(images.Image("x", one, ("pyproject.toml",)))
    assert key == images.image_key(images.Image("x", one, ("pyproject.toml",)))
    assert key != images.image_key(images.Image("x", two, ("pyproject.toml",)))
    assert key != images.image_key(images.Image("x", one, ("pyproject.toml", "README.md")))


def test_context_files_leave_bytecode_out() -> None:
    files = images._files(["kyma_connectors/core"])
    assert files
    assert not [f for f in files if "__pycache__" in f.parts or f.suffix == ".pyc"]


def test_archive_reference_comes_from_its_index(tmp_path: Path) -> None:
    ref = "localhost/kyma-connectors/pause:3.10.2"
    good = _archive(tmp_path / "a.tar", {"manifests": [{"annotations": {"org.opencontainers.image.ref.name": ref}}]})
    assert images._archive_ref(good) == ref
    bare = _archive(tmp_path / "b.tar", {"manifests": [{}]})
    with pytest.raises(images.ImageError, match="carries no reference name"):
        images._archive_ref(bare)


def test_cluster_names_are_what_the_stacks_deploy() -> None:
    assert images.cluster_ref("event-gateway") == "docker.io/kyma-connectors/event-gateway:local"
