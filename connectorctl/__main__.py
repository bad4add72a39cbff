"""Entry point: ``python -m connectorctl backfill --stack dev --connector NAME --since 2h [--apply]``."""

from __future__ import annotations

import sys

from connectorctl.cli import main

if __name__ == "__main__":
    sys.exit(main())
