"""The shipped solutions' API and event documents (``specs/<solution>/openapi*.yaml``, ``asyncapi.yaml``).

A package only so that the documents travel as package data: the program, the gateway image and the registrar image
all read them from the installed distribution, never from a path relative to a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

SPECS_DIR: Final[Path] = Path(str(files(__name__)))
"""Where the documents live: this package's directory, in a checkout and in an installed distribution alike."""
