"""The shared environment reader: typed values, defaults, and every problem collected with its variable's name."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from kyma_connectors.core.env import EnvReader
from kyma_connectors.core.problems import Problem


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


def test_values_are_typed_and_defaults_fill_the_gaps(tmp_path: Path) -> None:
    reader = EnvReader({"X_PORT": "8080", "X_ON": "yes", "X_WAIT": "1.5", "X_COLOR": "BLUE", "X_DIR": str(tmp_path),
                        "X_URL": "https://user:pw@example.org/base/"}, "X_")
    assert reader.integer("PORT", 1, 1, 65535) == 8080
    assert reader.boolean("ON", False) is True
    assert reader.seconds("WAIT", 9.0) == 1.5
    assert reader.enum("COLOR", Color, None) is Color.BLUE
    assert reader.directory("DIR", None, must_exist=True) == tmp_path
    assert reader.url("URL", None) == "https://user:pw@example.org/base"
    assert reader.text("UNSET", "fallback") == "fallback"
    assert reader.problems == []


def test_every_problem_is_kept_with_the_full_variable_name(tmp_path: Path) -> None:
    reader = EnvReader({"X_PORT": "99999", "X_ON": "maybe", "X_WAIT": "-1", "X_COLOR": "green",
                        "X_DIR": str(tmp_path / "missing"), "X_NAME": "Bad Name"}, "X_")
    reader.integer("PORT", 8080, 1, 65535)
    reader.boolean("ON", False)
    reader.seconds("WAIT", 1.0)
    reader.enum("COLOR", Color, None)
    reader.directory("DIR", None, must_exist=True)
    reader.text("NAME", None, re.compile(r"^[a-z]+$"), "lowercase letters")
    reader.text("REQUIRED", None)
    assert [p.path for p in reader.problems] == ["X_PORT", "X_ON", "X_WAIT", "X_COLOR", "X_DIR", "X_NAME",
                                                "X_REQUIRED"]
    assert Problem("X_PORT", "expected an integer in [1, 65535], got '99999'") in reader.problems
    assert Problem("X_REQUIRED", "required, not set") in reader.problems


def test_urls_and_secrets_are_never_echoed() -> None:
    reader = EnvReader({"X_URL": "ftp://user:hunter2@host", "X_SECRETS": " , "}, "X_")
    assert reader.url("URL", "http://default") == "http://default"
    assert reader.secret_list("SECRETS", "webhook secrets") == ()
    text = "; ".join(str(p) for p in reader.problems)
    assert "hunter2" not in text
    assert [p.path for p in reader.problems] == ["X_URL", "X_SECRETS"]


def test_names_already_carrying_the_prefix_are_not_prefixed_twice() -> None:
    reader = EnvReader({"REGISTRAR_BACKEND": "red"})
    assert reader.enum("REGISTRAR_BACKEND", Color, None) is Color.RED
