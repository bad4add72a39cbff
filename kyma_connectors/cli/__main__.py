"""Entry point: ``python -m kyma_connectors.cli backfill --stack dev --connector NAME --since 2h [--apply]``."""

from __future__ import annotations

import sys

from kyma_connectors.cli.cli import main

if __name__ == "__main__":
    sys.exit(main())
