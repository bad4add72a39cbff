"""Admin API of the GitHub double (``/_admin/...``): what a person does in GitHub's UI, for tests and e2e.

Not part of GitHub's contract, so not validated against it. Routes (JSON in, JSON out):

=======  ===============================  ==========================================================================
GET      /_admin/hooks                    every hook, with its *real* secret and its deliveries
POST     /_admin/hooks                    create by hand ``{scope: repo|org, target, events, active, config}``
PATCH    /_admin/hooks/{id}               edit by hand (``events``, ``active``, ``config`` merged)
DELETE   /_admin/hooks/{id}               delete by hand
POST     /_admin/activity                 something happened ``{scope: repo|org, target, event, payload}``:
                                          delivered to every active hook subscribed to it (returns the count)
POST     /_admin/hooks/{id}/deliveries    record a past delivery ``{event, action, status_code, delivered_at,
                                          guid, payload}`` (simulate a receiver outage)
POST     /_admin/faults                   next matching answer(s): ``{status, body, headers, count, method,
                                          path_contains, exhaust_rate_limit, reset_in}``
POST     /_admin/tokens                   accept a token ``{token, scopes}``
POST     /_admin/apps                     register a GitHub App ``{app_id, installation_id, public_key_pem}``
GET      /_admin/requests | violations    request log (method, path, status) | contract violations
PUT      /_admin/ingress                  route hook hosts to base URLs ``{host: base_url}`` (Istio's part on Kyma;
                                          merged, an empty base URL removes the host)
POST     /_admin/reset                    forget everything but tokens and apps
=======  ===============================  ==========================================================================
"""

from __future__ import annotations

from typing import Any

from devtools.doubles.github.api import Reply, error
from devtools.doubles.github.state import FULL_SCOPES, Fault, Hook, World


def dump(hook: Hook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "scope": hook.scope,
        "target": hook.target,
        "events": list(hook.events),
        "active": hook.active,
        "config": dict(hook.config),
        "last_response": dict(hook.last_response),
        "deliveries": [d.item() for d in hook.deliveries],
    }


def handle(world: World, method: str, path: str, body: Any) -> Reply:
    parts = path.strip("/").split("/")[1:]
    body = body or {}
    try:
        return route(world, method, parts, body)
    except (KeyError, TypeError, ValueError) as exc:
        return error(400, f"bad admin request: {type(exc).__name__}: {exc}")


def route(world: World, method: str, parts: list[str], body: dict[str, Any]) -> Reply:
    if parts == ["ingress"] and method == "PUT":
        with world.lock:
            for host, base in dict(body).items():
                if base:
                    world.ingress[str(host)] = str(base)
                else:
                    world.ingress.pop(str(host), None)
            return Reply(200, dict(world.ingress))
    if parts == ["hooks"] and method == "GET":
        with world.lock:
            return Reply(200, [dump(h) for h in world.hooks.values()])
    if parts == ["hooks"] and method == "POST":
        hook = world.new_hook(
            body["scope"],
            body["target"],
            body.get("events", ["push"]),
            bool(body.get("active", True)),
            dict(body.get("config", {})),
        )
        return Reply(201, dump(hook))
    if len(parts) >= 2 and parts[0] == "hooks":
        found = world.hooks.get(int(parts[1]))
        if found is None:
            return error(404, "no such hook")
        return hook_route(world, method, parts[2:], found, body)
    if parts == ["activity"] and method == "POST":
        sent = world.emit(body["scope"], body["target"], body["event"], dict(body.get("payload") or {}))
        return Reply(201, {"deliveries": len(sent)})
    if parts == ["faults"] and method == "POST":
        with world.lock:
            world.faults.append(Fault(**body))
        return Reply(201, {"queued": len(world.faults)})
    if parts == ["tokens"] and method == "POST":
        world.add_token(body["token"], frozenset(body.get("scopes", FULL_SCOPES)))
        return Reply(201, {})
    if parts == ["apps"] and method == "POST":
        world.add_app(str(body["app_id"]), body["public_key_pem"], str(body["installation_id"]))
        return Reply(201, {})
    if parts == ["requests"] and method == "GET":
        with world.lock:
            return Reply(200, list(world.requests))
    if parts == ["violations"] and method == "GET":
        with world.lock:
            return Reply(200, list(world.violations))
    if parts == ["reset"] and method == "POST":
        with world.lock:
            world.hooks.clear()
            world.faults.clear()
            world.requests.clear()
            world.violations.clear()
        return Reply(204)
    return error(404, "unknown admin route")


def hook_route(world: World, method: str, rest: list[str], hook: Hook, body: dict[str, Any]) -> Reply:
    if not rest and method == "DELETE":
        with world.lock:
            world.hooks.pop(hook.id, None)
        return Reply(204)
    if not rest and method == "PATCH":
        with world.lock:
            hook.events = list(body.get("events", hook.events))
            hook.active = bool(body.get("active", hook.active))
            hook.config = {**hook.config, **body.get("config", {})}
        return Reply(200, dump(hook))
    if rest == ["deliveries"] and method == "POST":
        return Reply(201, world.record_delivery(hook, **body).item())
    return error(404, "unknown admin route")
