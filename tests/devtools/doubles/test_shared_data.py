"""A missing ../shared is reported by name, with the variable to set, by every reader of the reference data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools.doubles import shared_data
from devtools.doubles.github import GitHubDouble
from devtools.doubles.registry import RegistryDouble
from devtools.doubles.shared_data import SharedDataMissing, shared_path
from tests.support.paths import REPO

pytestmark = pytest.mark.timeout(30)


def test_kc_shared_pointing_nowhere_names_the_folder_and_the_variable(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KC_SHARED", str(tmp_path / "nowhere"))
    with pytest.raises(SharedDataMissing) as info:
        shared_path("kyma/crds")
    assert str(info.value) == (
        f"the shared reference data folder {tmp_path / 'nowhere'} does not exist (KC_SHARED={tmp_path / 'nowhere'}): "
        "set KC_SHARED to the folder that holds kyma/crds, kyma/legacy and github/ (a copy of shared/ beside the "
        "repository is the CI layout)"
    )
    assert isinstance(info.value, FileNotFoundError)  # callers that handle a missing file still do


def test_without_kc_shared_the_default_beside_the_repository_is_named(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KC_SHARED", raising=False)
    monkeypatch.setattr(shared_data, "REPO", tmp_path / "repo")
    with pytest.raises(SharedDataMissing, match="KC_SHARED is not set") as info:
        shared_path("github")
    assert f"folder {tmp_path / 'shared'} does not exist" in str(info.value)
    (tmp_path / "shared").mkdir()
    assert shared_path() == tmp_path / "shared"
    with pytest.raises(SharedDataMissing, match=r"^github/payloads is missing from the shared reference data at "):
        shared_path("github/payloads")


def test_the_doubles_fail_with_the_message_before_listening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KC_SHARED", str(tmp_path))
    with pytest.raises(SharedDataMissing, match=r"github/rest-hooks-openapi\.json is missing"):
        GitHubDouble()
    with pytest.raises(SharedDataMissing, match=r"kyma/legacy/application-registry-metadata-api\.yaml is missing"):
        RegistryDouble()


def test_a_test_module_needing_shared_data_fails_at_import_with_the_message(tmp_path: Path) -> None:
    """tests/support/paths.py: the repository's own paths need no shared data; the shared folders say what is wrong."""
    script = "from tests.support.paths import REPO, SPECS\nprint(SPECS.is_dir())\nfrom tests.support.paths import CRDS"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=20,
                          check=False, env={"PATH": "/usr/bin:/bin", "KC_SHARED": str(tmp_path / "gone")})
    assert done.stdout == "True\n"
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(
        f"devtools.doubles.shared_data.SharedDataMissing: the shared reference data folder {tmp_path / 'gone'} "
        f"does not exist (KC_SHARED={tmp_path / 'gone'}): set KC_SHARED to"
    )
