"""``python -m kyma_connectors.registrar``: one registration run; the exit code tells the Job whether to retry
(:mod:`kyma_connectors.registrar.errors`)."""

from __future__ import annotations

import sys

from kyma_connectors.registrar.run import run

if __name__ == "__main__":
    sys.exit(run())
