"""Where the tests find the repository and the read-only reference data in ../shared.

The shared data is found the one way devtools/doubles/shared_data.py defines (``KC_SHARED``, else
``<repo>/../shared``, the CI layout). Its folders are looked up when a test module first imports them, so a module
that needs none of them runs without ../shared, and one that does fails at collection with ``SharedDataMissing``
saying which path is missing and how to set ``KC_SHARED`` -- not with a ``KeyError`` from an empty CRD index.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from devtools.doubles.shared_data import shared_path

REPO: Final[Path] = Path(__file__).resolve().parents[2]
SPECS: Final[Path] = REPO / "specs"

_SHARED: Final[dict[str, str]] = {
    "SHARED": "",
    "CRDS": "kyma/crds",
    "LEGACY": "kyma/legacy",
    "GITHUB": "github",
    "GITHUB_PAYLOADS": "github/payloads",
}
"""Module attribute -> its folder inside the shared data."""

if TYPE_CHECKING:
    SHARED: Path
    CRDS: Path
    LEGACY: Path
    GITHUB: Path
    GITHUB_PAYLOADS: Path
else:

    def __getattr__(name: str) -> Path:
        if name in _SHARED:
            return shared_path(_SHARED[name])
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
