"""The hook reconciler: the webhook's event list follows the Kyma Subscriptions that name this connector.

``python -m kyma_connectors.reconciler`` runs in the cluster next to a connector whose stack config says ``events:
subscribed``. It lists and watches ``eventing.kyma-project.io/v1alpha2`` Subscriptions in every namespace (read
only), keeps those that receive this connector's events (:mod:`~kyma_connectors.core.eventing`), maps their types
to the solution's native events through the catalog (:mod:`.wanted`), and brings the hook on the solution's side to
exactly that (:mod:`.hooks`): GitHub ``PATCH`` of ``events``/``active``, Qualtrics create/delete per topic.

The hook is the single state: nothing is remembered between runs, so a restart reads the hook, finds it right and
changes nothing. Bursts of Subscription changes are folded into one update (:mod:`.schedule`); failures (5xx, rate
limits, the API down) are retried with backoff until the hook converges. Decisions are written to a status
ConfigMap and exported as Prometheus metrics (:mod:`.status`); docs/subscriptions.md explains both.
"""
