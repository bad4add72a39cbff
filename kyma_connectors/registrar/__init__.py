"""The registration job: registers a solution's APIs and event catalog with Kyma, idempotently.

Run as ``python -m kyma_connectors.registrar``.

Runs once per change as a Kubernetes Job. It reads the registration manifest and the spec files from a mounted
ConfigMap (:mod:`registrar.bundle`), validates every document before touching anything, and brings the target in line
through one of two backends:

- ``application-cr`` (today's Kyma, :mod:`registrar.application_cr`): ``spec.services`` of the Application custom
  resource, written by server-side apply under the field manager ``kyma-connectors-registrar``;
- ``application-registry`` (Kyma 1.x, :mod:`registrar.registry`): the Application Registry metadata API.

A run that finds nothing to change writes nothing and says so. The exit code tells the Job controller whether a retry
can help (:mod:`registrar.errors`).
"""
