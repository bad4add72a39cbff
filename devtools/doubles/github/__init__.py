"""A loopback test double of GitHub's repository and organization webhooks API.

It follows the published contract in ``../shared/github/rest-hooks-openapi.json`` (GitHub's own OpenAPI description,
hooks subset) and validates every request and every response against it -- paths, parameters, bodies, status codes,
``Link``/``Location`` headers and the rate-limit headers. It also serves the GitHub App installation-token exchange
(``POST /app/installations/{id}/access_tokens``, checked against GitHub's documented JWT rules), answers under both
``/`` (api.github.com) and ``/api/v3`` (GHES), and keeps all state in memory.

Run it standalone for end-to-end tests::

    python -m devtools.doubles.github --port 8081 --token ghp_dev    # prints its URL, serves until interrupted

It sends traffic only to loopback: pings and redeliveries reach a hook's URL only when it is 127.0.0.1/::1/localhost.
See :mod:`doubles.github.admin` for the admin API (list/edit/delete hooks by hand, inject failed deliveries and faults).
"""

from __future__ import annotations

from devtools.doubles.github.contract import Contract, ContractViolation
from devtools.doubles.github.server import GitHubDouble
from devtools.doubles.github.state import World

__all__ = ["Contract", "ContractViolation", "GitHubDouble", "World"]
