"""The image contract without a container engine: the Dockerfile copies every first-party package the job imports,
registrar/requirements.txt covers every third-party import, and ``python -m registrar`` runs from that layout alone."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest

from tests.support.paths import REPO

FIRST_PARTY = {path.name for path in REPO.iterdir() if (path / "__init__.py").is_file()}


def _imports(package: str) -> set[str]:
    """Top-level modules imported anywhere in a package."""
    found: set[str] = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def _first_party_closure() -> set[str]:
    todo, seen = ["registrar"], set()
    while todo:
        package = todo.pop()
        if package not in seen:
            seen.add(package)
            todo.extend(name for name in _imports(package) if name in FIRST_PARTY)
    return seen


def _copied() -> set[str]:
    dockerfile = (REPO / "registrar" / "Dockerfile").read_text()
    return {m.group(1) for m in re.finditer(r"^COPY (\w+)/ \1/$", dockerfile, re.MULTILINE)}


def _required_closure() -> set[str]:
    pinned = [line.split("==")[0].strip().lower() for line in (REPO / "registrar" / "requirements.txt").read_text()
              .splitlines() if line.strip() and not line.startswith("#")]
    todo, seen = list(pinned), set()
    while todo:
        name = re.split(r"[\s;<>=!~\[]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            todo.extend(req for req in requires(name) or [] if "extra ==" not in req)
        except PackageNotFoundError:
            continue
    return seen


def test_dockerfile_copies_exactly_the_packages_the_job_imports() -> None:
    assert _copied() == _first_party_closure() == {"registrar", "registration", "catalog"}


def test_requirements_cover_every_third_party_import() -> None:
    third_party = set().union(*(_imports(p) for p in _first_party_closure())) - FIRST_PARTY - set(
        sys.stdlib_module_names) - {"__future__"}
    distributions = packages_distributions()
    missing = {module for module in third_party
               if not {d.lower().replace("_", "-") for d in distributions.get(module, [module])} & _required_closure()}
    assert third_party  # yaml, requests, openapi_spec_validator, ...
    assert missing == set()


@pytest.mark.timeout(60)
def test_entrypoint_runs_from_the_image_layout_alone(tmp_path: Path) -> None:
    for package in _copied():
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))

    result = subprocess.run([sys.executable, "-m", "registrar"], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONDONTWRITEBYTECODE": "1", "REGISTRAR_APPLICATION": "demo"}, timeout=60,
                            check=False)

    assert result.returncode == 2
    assert result.stderr.startswith("registrar: permanent: REGISTRAR_SPECS_DIR: required")
    assert result.stdout == ""
