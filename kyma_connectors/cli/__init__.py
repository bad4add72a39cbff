"""``connectorctl``: operator commands for deployed connectors (``python -m kyma_connectors.cli --help``).

Today one command, ``backfill``: ask GitHub to redeliver the deliveries a connector's webhook failed to hand over
(receiver down, gateway rejecting) since a point in time. It reads the webhook's id and credentials from the Pulumi
stack (``pulumi stack export --show-secrets``), so operators need nothing but access to the stack.
"""
