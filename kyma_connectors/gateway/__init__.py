"""The event gateway: the connector's data plane.

It receives a solution's webhooks (GitHub, SAP Qualtrics, any signed webhook), verifies them, writes every accepted
delivery durably to a local spool *before* answering 2xx, and forwards the spool to Kyma eventing as CloudEvents.
GitHub never retries a failed delivery, so an acknowledgement here is a promise: see docs/event-gateway.md.

Layout (one concept per module): ``settings`` (environment contract), ``errors``, ``verify`` (signatures),
``deliveries`` (request -> event, pure), ``records`` (event and on-disk framing), ``segments`` (spool files),
``spool`` (group commit, reads, acks), ``dedup`` (the id window), ``httpclient``/``publisher``/``forwarder``
(delivery to Kyma), ``app`` (the ASGI application), ``telemetry`` (metrics and tracing), ``server`` (process).
"""
