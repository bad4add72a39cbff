"""The images' contract without a container engine: each Dockerfile installs this distribution with one extra, and
that wheel alone -- its packages, its package data, its extra's requirements -- runs the service's entry point.

Why a wheel and not the checkout: the images install ``.[gateway]`` / ``.[registrar]``, so what ships is what
setuptools puts into the wheel (``[tool.setuptools]`` in pyproject.toml). A module or a spec file the wheel lacks
fails here, not on a cluster.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest

from tests.support.paths import REPO

SERVICES = {  # image -> (extra, entry module, the start-up error a bare environment gets)
    "gateway": ("gateway", "kyma_connectors.gateway", "GATEWAY_SOLUTION"),
    "registrar": ("registrar", "kyma_connectors.registrar", "REGISTRAR_SPECS_DIR: required"),
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(REPO)], check=True, capture_output=True, timeout=120)
    return next(out.glob("kyma_connectors-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def _metadata(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode()).get_all("Requires-Dist") or []


def _extra_requirements(wheel: Path, extra: str) -> set[str]:
    """Distribution names the extra installs: the base requirements, the extra's, and theirs, transitively."""
    names = []
    for req in _metadata(wheel):
        marker = req.split(";", 1)[1] if ";" in req else ""
        if not marker or re.search(rf"extra\s*==\s*['\"]{extra}['\"]", marker):
            names.append(req)
    todo, seen = names, set()
    while todo:
        name = re.split(r"[\s;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            todo.extend(req for req in requires(name) or [] if "extra ==" not in req)
        except PackageNotFoundError:
            continue
    return seen


def _closure(root: Path, module: str) -> dict[str, set[str]]:
    """First-party modules reachable from ``module`` in the installed tree -> the top-level names each imports."""
    todo, seen = [module], {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = root.joinpath(*name.split("."))
        files = list(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        imported: set[str] = set()
        for file in files:
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported.add(node.module)
        seen[name] = {m.split(".")[0] for m in imported}
        todo.extend(m for m in imported if m.split(".")[0] in {"kyma_connectors", "specs"} and m not in seen
                    and (root.joinpath(*m.split(".")).is_dir() or root.joinpath(*m.split(".")).with_suffix(".py")
                         .is_file()))
    return seen


@pytest.mark.parametrize("image", sorted(SERVICES))
def test_dockerfile_installs_the_extra_and_runs_the_entry_module(image: str) -> None:
    extra, module, _ = SERVICES[image]
    dockerfile = (REPO / "images" / image / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(rf'pip install [^\n]*"\.\[{extra}\]"', dockerfile)
    assert f'ENTRYPOINT ["python", "-m", "{module}"]' in dockerfile


@pytest.mark.slow
def test_the_wheel_carries_every_package_and_the_specs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped_specs = {str(p.relative_to(REPO)) for p in (REPO / "specs").glob("*/*.yaml")}
    assert shipped_specs
    assert shipped_specs <= names
    assert "kyma_connectors/program/schema.json" in names
    assert not any(n.startswith(("tests/", "devtools/", "bench/")) for n in names)


@pytest.mark.slow
@pytest.mark.parametrize("image", sorted(SERVICES))
def test_the_extra_covers_every_third_party_import(image: str, wheel: Path, installed: Path) -> None:
    extra, module, _ = SERVICES[image]
    closure = _closure(installed, module)
    assert not any(m.startswith(("kyma_connectors.program", "kyma_connectors.policy")) for m in closure)
    third_party = set().union(*closure.values()) - {"kyma_connectors", "specs", "__future__"} - set(
        sys.stdlib_module_names)
    distributions = packages_distributions()
    wanted = _extra_requirements(wheel, extra)
    missing = {m for m in third_party
               if not {d.lower().replace("_", "-") for d in distributions.get(m, [m])} & wanted}
    assert third_party  # yaml at least
    assert missing == set()


@pytest.mark.slow
@pytest.mark.timeout(60)
@pytest.mark.parametrize("image", sorted(SERVICES))
def test_the_entry_point_runs_from_the_wheel_alone(image: str, installed: Path, tmp_path: Path) -> None:
    _, module, expected = SERVICES[image]
    probe = f"import runpy, sys, kyma_connectors; assert kyma_connectors.__file__.startswith({str(installed)!r}); " \
            f"sys.argv = [{module!r}]; runpy.run_module({module!r}, run_name='__main__')"
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(installed), "PYTHONDONTWRITEBYTECODE": "1",
                                 "REGISTRAR_APPLICATION": "demo"}, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert expected in result.stderr
