"""Where the read-only reference data lives (``../shared``: real Kyma CRDs, GitHub payloads, API descriptions).

Why one place: the doubles and the tests all read it, and a missing folder used to surface as whatever the first
reader happened to raise -- a ``KeyError`` from an empty CRD index, a ``FileNotFoundError`` deep inside a double.
Here it is found one way, ``$KC_SHARED`` else ``<repository>/../shared`` (CI clones the repository beside a copy of
shared/), and :func:`shared_path` fails with :class:`SharedDataMissing`, which says where it looked and what to set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

ENV: Final[str] = "KC_SHARED"
"""Points at the shared data folder when it is not ``<repository>/../shared``."""
REPO: Final[Path] = Path(__file__).resolve().parents[2]


class SharedDataMissing(FileNotFoundError):
    """A file or folder of the shared reference data is not where ``KC_SHARED`` (or the default) points."""


def shared_root() -> Path:
    """``$KC_SHARED``, else ``<repository>/../shared``; not checked (:func:`shared_path` checks)."""
    configured = os.environ.get(ENV)
    return Path(configured).resolve() if configured else (REPO.parent / "shared").resolve()


def shared_path(relative: str = "") -> Path:
    """``relative`` (e.g. ``"kyma/crds"``) inside the shared data; :class:`SharedDataMissing` when it is not there."""
    root = shared_root()
    path = root / relative if relative else root
    if path.exists():
        return path
    configured = os.environ.get(ENV)
    source = f"{ENV}={configured}" if configured else f"the default <repository>/../shared; {ENV} is not set"
    if not root.is_dir():
        raise SharedDataMissing(
            f"the shared reference data folder {root} does not exist ({source}): set {ENV} to the folder that holds "
            f"kyma/crds, kyma/legacy and github/ (a copy of shared/ beside the repository is the CI layout)"
        )
    raise SharedDataMissing(f"{relative} is missing from the shared reference data at {root} ({source}): "
                            f"is {ENV} pointing at a complete copy of shared/?")
