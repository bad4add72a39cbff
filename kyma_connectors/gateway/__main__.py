"""``python -m kyma_connectors.gateway``: run the gateway, configured by ``GATEWAY_*`` environment variables."""

from __future__ import annotations

import sys

from kyma_connectors.gateway.server import main

if __name__ == "__main__":
    sys.exit(main())
