"""The local cluster's images, built without a Docker daemon from the project's own Dockerfiles.

No registry is reachable here (python:3.11-slim, registry.k8s.io/pause and ghcr.io cannot be pulled), so:

- the Python base is assembled from Debian bookworm packages by mmdebstrap (``python3``, ``python3-venv``,
  ``python-is-python3``, ``ca-certificates``, ``passwd``: what the Dockerfiles' ``python -m venv``, ``groupadd`` and
  TLS need) and committed by buildah as ``localhost/kyma-connectors/python-base:bookworm``;
- each product image is built by ``buildah bud`` from its unchanged ``images/<name>/Dockerfile`` with
  ``--build-arg PYTHON_IMAGE=<that base>``: the same recipe a user runs with ``docker build``;
- the sandbox (pause) image is the pinned Kubernetes module's own ``build/pause/linux/pause.c``, compiled static;
- the publisher double's image comes from ``devtools/doubles/Dockerfile`` on the same base.

Each image is exported once to an OCI archive in ``$KC_CACHE/images``, keyed by a hash of everything its build
reads, and imported into the node's containerd (namespace ``k8s.io``) under the name the stack deploys. Warm runs
rebuild nothing. Build-time network: the host's CA bundle is mounted read-only into ``RUN`` steps (this machine
reaches PyPI through a TLS-inspecting proxy); it never lands in an image.

    python -m devtools.cluster.images build [NAME ...]      (`make images`)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from devtools.cluster import procs

REPO: Final = Path(__file__).resolve().parents[2]
CACHE: Final = Path(os.environ.get("KC_CACHE", Path.home() / ".cache" / "kyma-connectors")) / "images"
SUITE: Final = "bookworm"
MIRRORS: Final = ("deb http://deb.debian.org/debian bookworm main",
                  "deb http://deb.debian.org/debian bookworm-updates main",
                  "deb http://deb.debian.org/debian-security bookworm-security main")
BASE_PACKAGES: Final = ("python3", "python3-venv", "python-is-python3", "ca-certificates", "passwd")
BASE_REF: Final = "localhost/kyma-connectors/python-base:bookworm"
PAUSE_REF: Final = "localhost/kyma-connectors/pause:3.10.2"
PAUSE_VERSION: Final = "3.10.2"
"""TAG of build/pause/Makefile in the pinned k8s.io/kubernetes module."""
CONTEXT: Final = ("pyproject.toml", "README.md", "kyma_connectors", "specs")
"""What the product Dockerfiles COPY (their .dockerignore files keep the rest out)."""

Log = Callable[[str], None]


class ImageError(procs.ClusterError):
    """An image could not be built, exported or imported."""


@dataclass(frozen=True)
class Image:
    """An image the local cluster runs: the Dockerfile that builds it and what that build reads."""

    name: str
    dockerfile: Path
    context: tuple[str, ...] = CONTEXT

    @property
    def local_ref(self) -> str:
        return f"localhost/kyma-connectors/{self.name}:dev"


IMAGES: Final = {
    "event-gateway": Image("event-gateway", REPO / "images" / "gateway" / "Dockerfile"),
    "registrar": Image("registrar", REPO / "images" / "registrar" / "Dockerfile"),
    "reconciler": Image("reconciler", REPO / "images" / "reconciler" / "Dockerfile"),
    "publisher-double": Image("publisher-double", REPO / "devtools" / "doubles" / "Dockerfile",
                              (*CONTEXT, "components", "devtools/__init__.py", "devtools/doubles",
                               "devtools/cluster/__init__.py", "devtools/cluster/kubeapi.py")),
}


def cluster_ref(name: str) -> str:
    """The name an image has in the local cluster (stacks deploy ``kyma-connectors/<name>:local``)."""
    return f"docker.io/kyma-connectors/{name}:local"


def _say(message: str) -> None:
    print(f"[images] {message}", flush=True)


def _tool(name: str, package: str) -> str:
    return procs.require(name, f"install the Debian package {package!r} (make toolchain does, as root)")


def _run(argv: list[str], log_file: Path) -> None:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as out:
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-15:])
        raise ImageError(f"{Path(argv[0]).name} failed (exit {result.returncode}, log {log_file}):\n{tail}")


def _files(paths: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for rel in paths:
        path = REPO / rel
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
                         and not p.name.endswith((".pyc", ".installed")) and "node_modules" not in p.parts)
        elif path.is_file():
            found.append(path)
    return found


def _digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def base_key() -> str:
    return _digest([SUITE.encode(), *(m.encode() for m in MIRRORS), *(p.encode() for p in BASE_PACKAGES)])


def image_key(image: Image) -> str:
    files = _files(image.context)
    return _digest([base_key().encode(), image.dockerfile.read_bytes(),
                    *(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes() for f in files)])


def archive(name: str, key: str) -> Path:
    return CACHE / f"{name}-{key}.oci.tar"


def _have(ref: str) -> bool:
    return subprocess.run([_tool("buildah", "buildah"), "inspect", "--type", "image", ref],
                          capture_output=True, check=False).returncode == 0


def build_base(log: Log = _say) -> str:
    """The Debian Python base in buildah's store (from its cached rootfs tarball, built by mmdebstrap if missing)."""
    key = base_key()
    rootfs = CACHE / f"python-base-{key}.rootfs.tar"
    ref = f"{BASE_REF}-{key}"
    if _have(ref):
        return ref
    if not rootfs.exists():
        log(f"assembling the Python base from Debian {SUITE} packages (mmdebstrap)")
        tmp = rootfs.with_suffix(".partial")
        _run([_tool("mmdebstrap", "mmdebstrap"), "--variant=minbase", "--mode=root", "--format=tar",
              f"--include={','.join(BASE_PACKAGES)}", "--aptopt=Acquire::Languages \"none\"",
              "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
              "--dpkgopt=path-exclude=/usr/share/locale/*", SUITE, str(tmp), *MIRRORS], CACHE / "logs" / "base.log")
        tmp.replace(rootfs)
    buildah = _tool("buildah", "buildah")
    container = subprocess.run([buildah, "from", "scratch"], capture_output=True, text=True,
                               check=True).stdout.strip()
    try:
        _run([buildah, "add", container, str(rootfs), "/"], CACHE / "logs" / "base-add.log")
        _run([buildah, "config", "--env", "LANG=C.UTF-8", "--cmd", "python3", container],
             CACHE / "logs" / "base-config.log")
        _run([buildah, "commit", "-q", container, ref], CACHE / "logs" / "base-commit.log")
    finally:
        subprocess.run([buildah, "rm", container], capture_output=True, check=False)
    log(f"base image {ref}")
    return ref


def _from_scratch(ref: str, content: list[str], config: list[str], log_name: str) -> None:
    """Commit ``ref``: an empty image, ``buildah add|copy <container> <src> <dest>`` (``content``), then ``config``."""
    buildah = _tool("buildah", "buildah")
    container = subprocess.run([buildah, "from", "scratch"], capture_output=True, text=True,
                               check=True).stdout.strip()
    logs = CACHE / "logs"
    try:
        _run([buildah, content[0], container, *content[1:]], logs / f"{log_name}-{content[0]}.log")
        _run([buildah, "config", *config, container], logs / f"{log_name}-config.log")
        _run([buildah, "commit", "-q", container, ref], logs / f"{log_name}-commit.log")
    finally:
        subprocess.run([buildah, "rm", container], capture_output=True, check=False)


def pause_source() -> Path:
    """pause.c of the pinned Kubernetes module (downloaded into the Go module cache by the toolchain build)."""
    gomodcache = Path(os.environ.get("KC_GOMODCACHE", CACHE.parent / "go" / "mod"))
    version = os.environ.get("KC_KUBE_VERSION")
    if not version:
        raise ImageError("KC_KUBE_VERSION is unset: `source devtools/cluster/env.sh` (it carries the pins)")
    source = gomodcache / "k8s.io" / f"kubernetes@{version}" / "build" / "pause" / "linux" / "pause.c"
    if not source.exists():
        raise ImageError(f"{source} not found: `make toolchain` downloads the k8s.io/kubernetes module first")
    return source


def build_pause(log: Log = _say) -> Path:
    """The sandbox image: the upstream pause program, static, alone in an image from scratch."""
    source = pause_source()
    key = _digest([source.read_bytes(), PAUSE_VERSION.encode()])
    target = archive("pause", key)
    if target.exists():
        return target
    buildah = _tool("buildah", "buildah")
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "pause"
        _run([_tool("gcc", "gcc"), "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{PAUSE_VERSION}",
              "-o", str(binary), str(source)], CACHE / "logs" / "pause-gcc.log")
        container = subprocess.run([buildah, "from", "scratch"], capture_output=True, text=True,
                                   check=True).stdout.strip()
        try:
            _run([buildah, "copy", container, str(binary), "/pause"], CACHE / "logs" / "pause-copy.log")
            _run([buildah, "config", "--entrypoint", '["/pause"]', "--user", "65535:65535", container],
                 CACHE / "logs" / "pause-config.log")
            _run([buildah, "commit", "-q", container, PAUSE_REF], CACHE / "logs" / "pause-commit.log")
        finally:
            subprocess.run([buildah, "rm", container], capture_output=True, check=False)
    _export(PAUSE_REF, target)
    log(f"pause image {PAUSE_REF} ({target.name})")
    return target


def _export(ref: str, target: Path) -> None:
    tmp = target.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    _run([_tool("buildah", "buildah"), "push", "-q", ref, f"oci-archive:{tmp}:{ref}"],
         CACHE / "logs" / f"push-{target.stem}.log")
    tmp.replace(target)


def build(image: Image, log: Log = _say) -> Path:
    """The image's OCI archive: built from its Dockerfile on the Debian base unless the cache has this exact input."""
    key = image_key(image)
    target = archive(image.name, key)
    if target.exists():
        log(f"{image.name}: cached ({target.name})")
        return target
    base = build_base(log)
    log(f"{image.name}: buildah bud -f {image.dockerfile.relative_to(REPO)}")
    _run([_tool("buildah", "buildah"), "bud", "-q", "--network", "host", "--isolation", "chroot",
          "--volume", "/etc/ssl/certs:/etc/ssl/certs:ro", "--build-arg", f"PYTHON_IMAGE={base}",
          "-f", str(image.dockerfile), "-t", image.local_ref, str(REPO)], CACHE / "logs" / f"build-{image.name}.log")
    _export(image.local_ref, target)
    log(f"{image.name}: built ({target.name})")
    return target


def import_into(ctr_argv: list[str], source: Path, ref: str, log: Log = _say) -> None:
    """Import an OCI archive into containerd's CRI namespace and name it ``ref`` (the name a pod spec uses)."""
    # The archive carries one manifest; --index-name would wrap it, so import by its own name and tag it.
    inner = _archive_ref(source)
    _run([*ctr_argv, "-n", "k8s.io", "images", "import", str(source)],
         CACHE / "logs" / f"import-{source.stem}.log")
    if inner != ref:
        subprocess.run([*ctr_argv, "-n", "k8s.io", "images", "rm", ref], capture_output=True,
                       check=False)
        _run([*ctr_argv, "-n", "k8s.io", "images", "tag", inner, ref], CACHE / "logs" / f"tag-{source.stem}.log")
    log(f"loaded {ref}")


def _archive_ref(source: Path) -> str:
    with tarfile.open(source) as tar:
        member = tar.extractfile("index.json")
        if member is None:
            raise ImageError(f"{source}: no index.json (not an OCI archive)")
        index = json.load(member)
    for manifest in index.get("manifests", []):
        name = manifest.get("annotations", {}).get("org.opencontainers.image.ref.name")
        if name:
            return str(name)
    raise ImageError(f"{source}: the archive's manifest carries no reference name")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="images", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("action", choices=["build"])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"default: all of {', '.join(IMAGES)}")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in IMAGES]
    if unknown:
        parser.error(f"unknown image(s) {', '.join(unknown)}; choose from {', '.join(IMAGES)}")
    try:
        build_pause()
        for name in args.names or IMAGES:
            build(IMAGES[name])
    except ImageError as exc:
        print(f"[images] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
