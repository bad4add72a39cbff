"""``python -m kyma_connectors.reconciler``: run until SIGTERM (settings: :mod:`.settings`)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping

from kyma_connectors.core.catalog import CatalogError, load_catalog
from kyma_connectors.reconciler.errors import ReconcilerError
from kyma_connectors.reconciler.kube import Kube
from kyma_connectors.reconciler.run import Reconciler, exit_with, json_log
from kyma_connectors.reconciler.server import serve
from kyma_connectors.reconciler.settings import from_env


def main(env: Mapping[str, str] = os.environ) -> int:
    try:
        settings = from_env(env)
        catalog = load_catalog(settings.solution)
        settings.credentials()  # fail at start, not at the first reconcile, when the Secret is not mounted
        kube = Kube(settings.kubeconfig, env)
    except (ReconcilerError, CatalogError) as exc:
        return exit_with(str(exc))
    reconciler = Reconciler(settings, kube, catalog)
    server = serve(settings.port, reconciler.probes, reconciler.metrics.registry,
                   host=env.get("RECONCILER_BIND", "0.0.0.0"))  # noqa: S104 (a pod serves its probes on all ports)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: reconciler.request_stop())
    json_log("started", application=settings.application, source=settings.source, solution=settings.solution,
             targets=list(settings.targets), backend=settings.backend.value)
    try:
        reconciler.run()
    finally:
        server.shutdown()
        kube.close()
    json_log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
