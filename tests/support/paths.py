"""Where the tests find the repository and the read-only reference data in ../shared.

CI clones the repository into a fresh folder with a copy of shared/ beside it, so ``<repo>/../shared`` is the default;
``KC_SHARED`` overrides it for unusual layouts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

REPO: Final[Path] = Path(__file__).resolve().parents[2]
SHARED: Final[Path] = Path(os.environ.get("KC_SHARED", REPO.parent / "shared")).resolve()
CRDS: Final[Path] = SHARED / "kyma" / "crds"
LEGACY: Final[Path] = SHARED / "kyma" / "legacy"
GITHUB: Final[Path] = SHARED / "github"
GITHUB_PAYLOADS: Final[Path] = GITHUB / "payloads"
SPECS: Final[Path] = REPO / "specs"
