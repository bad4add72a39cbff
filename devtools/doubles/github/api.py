"""The REST operations of the GitHub double: one function per operation of the hooks description.

Each handler receives the routed request and the world and returns a :class:`Reply`; the server validates that reply
against the contract before it leaves. Semantics follow the description's prose, quoted where they matter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from devtools.doubles.github.state import Hook, World, now_iso

DOCS: Final[str] = "https://docs.github.com/rest/repos/webhooks"
MAX_PER_PAGE: Final[int] = 100


@dataclass
class Reply:
    """An answer: status, JSON body (None for no body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """A routed, validated request."""

    method: str
    kind: str
    """``repos`` or ``orgs``."""
    target: str
    """``owner/repo`` or the org login."""
    path_params: dict[str, Any]
    query: dict[str, Any]
    body: Any
    base: str
    """API base URL as the client addressed it (root or ``/api/v3``), for hook URLs and ``Link`` headers."""
    path: str


def error(status: int, message: str) -> Reply:
    return Reply(status, {"message": message, "documentation_url": DOCS, "status": str(status)})


def invalid(message: str, *, resource: str = "Hook", code: str = "custom", field_name: str | None = None) -> Reply:
    item: dict[str, Any] = {"resource": resource, "code": code, "message": message}
    if field_name:
        item["field"] = field_name
    return Reply(422, {"message": "Validation Failed", "errors": [item], "documentation_url": DOCS})


def not_found() -> Reply:
    return error(404, "Not Found")


def scope_of(call: Call) -> str:
    return "repo" if call.kind == "repos" else "org"


def link_header(base_url: str, pages: dict[str, str]) -> dict[str, str]:
    if not pages:
        return {}
    return {"Link": ", ".join(f'<{base_url}{query}>; rel="{rel}"' for rel, query in pages.items())}


def list_hooks(world: World, call: Call) -> Reply:
    per_page = min(int(call.query.get("per_page", 30)), MAX_PER_PAGE)
    page = max(int(call.query.get("page", 1)), 1)
    hooks = sorted(world.hooks_of(scope_of(call), call.target), key=lambda h: h.id)
    last = max((len(hooks) + per_page - 1) // per_page, 1)
    chunk = hooks[(page - 1) * per_page : page * per_page]
    pages: dict[str, str] = {}
    if page < last:
        pages["next"] = f"?per_page={per_page}&page={page + 1}"
        pages["last"] = f"?per_page={per_page}&page={last}"
    if page > 1:
        pages["first"] = f"?per_page={per_page}&page=1"
        pages["prev"] = f"?per_page={per_page}&page={page - 1}"
    url = f"{call.base}{call.path}"
    return Reply(200, [h.render(call.base) for h in chunk], link_header(url, pages))


def create_hook(world: World, call: Call) -> Reply:
    body = call.body or {}
    if body.get("name", "web") != "web":
        return invalid("name must be 'web'", code="invalid", field_name="name")
    config = dict(body.get("config") or {})
    if not config.get("url"):
        return invalid("url is missing", code="missing_field", field_name="url")
    problem = check_config(config)
    if problem:
        return problem
    events = list(body.get("events", ["push"]))
    with world.lock:
        for other in world.hooks_of(scope_of(call), call.target):
            # "Multiple webhooks can share the same config as long as those webhooks do not have any events that
            # overlap" -- otherwise 422 "Hook already exists on this repository" (GitHub since 2016).
            if other.config.get("url") == config["url"] and overlap(other.events, events):
                noun = "repository" if call.kind == "repos" else "organization"
                return invalid(f"Hook already exists on this {noun}")
        config.setdefault("content_type", "form")
        config.setdefault("insecure_ssl", "0")
        hook = world.new_hook(scope_of(call), call.target, events, bool(body.get("active", True)), config)
    world.deliver(hook, "ping", ping_payload(hook, call))
    rendered = hook.render(call.base)
    return Reply(201, rendered, {"Location": rendered["url"]})


def overlap(a: list[str], b: list[str]) -> bool:
    return "*" in a or "*" in b or bool(set(a) & set(b))


def check_config(config: dict[str, Any]) -> Reply | None:
    if config.get("content_type", "form") not in ("json", "form"):
        return invalid("content_type must be json or form", code="invalid", field_name="content_type")
    if str(config.get("insecure_ssl", "0")) not in ("0", "1"):
        return invalid("insecure_ssl must be 0 or 1", code="invalid", field_name="insecure_ssl")
    return None


def ping_payload(hook: Hook, call: Call) -> dict[str, Any]:
    """The ``ping`` event body: zen, hook_id, hook, and the repository or organization (octokit ping schema)."""
    payload: dict[str, Any] = {"zen": "Keep it logically awesome.", "hook_id": hook.id, "hook": hook.render(call.base)}
    if hook.scope == "repo":
        payload["repository"] = {"full_name": hook.target, "name": hook.target.split("/")[-1]}
    else:
        payload["organization"] = {"login": hook.target}
    payload["sender"] = {"login": "double"}
    return payload


def with_hook(handler: Callable[[World, Call, Hook], Reply]) -> Callable[[World, Call], Reply]:
    def wrapper(world: World, call: Call) -> Reply:
        hook = world.find(scope_of(call), call.target, int(call.path_params["hook_id"]))
        return not_found() if hook is None else handler(world, call, hook)

    return wrapper


@with_hook
def get_hook(world: World, call: Call, hook: Hook) -> Reply:
    return Reply(200, hook.render(call.base))


@with_hook
def update_hook(world: World, call: Call, hook: Hook) -> Reply:
    body = call.body or {}
    with world.lock:
        if "config" in body:
            config = dict(body["config"])
            problem = check_config(config)
            if problem:
                return problem
            config.setdefault("url", hook.config.get("url"))
            config.setdefault("content_type", "form")
            config.setdefault("insecure_ssl", "0")
            # "If you previously had a secret set, you must provide the same secret or set a new secret or the
            # secret will be removed." -- the config is replaced as a whole.
            hook.config = config
        if "events" in body:
            hook.events = list(body["events"])
        hook.events += [e for e in body.get("add_events", []) if e not in hook.events]
        hook.events = [e for e in hook.events if e not in body.get("remove_events", [])]
        if "active" in body:
            hook.active = bool(body["active"])
        hook.updated_at = now_iso()
    return Reply(200, hook.render(call.base))


@with_hook
def delete_hook(world: World, call: Call, hook: Hook) -> Reply:
    with world.lock:
        world.hooks.pop(hook.id, None)
    return Reply(204)


@with_hook
def get_config(world: World, call: Call, hook: Hook) -> Reply:
    return Reply(200, hook.public_config())


@with_hook
def update_config(world: World, call: Call, hook: Hook) -> Reply:
    config = {**hook.config, **(call.body or {})}
    problem = check_config(config)
    if problem:
        return problem
    with world.lock:
        hook.config = config
    return Reply(200, hook.public_config())


@with_hook
def list_deliveries(world: World, call: Call, hook: Hook) -> Reply:
    per_page = min(int(call.query.get("per_page", 30)), MAX_PER_PAGE)
    status = call.query.get("status")
    items = sorted(hook.deliveries, key=lambda d: d.id, reverse=True)  # newest first, as GitHub lists them
    if status == "success":
        items = [d for d in items if 200 <= d.status_code < 400]
    elif status == "failure":
        items = [d for d in items if 400 <= d.status_code < 600]
    cursor = str(call.query.get("cursor", ""))
    if cursor:
        if not cursor.startswith("v1_") or not cursor[3:].isdigit():
            return error(400, "Invalid cursor")
        items = [d for d in items if d.id < int(cursor[3:])]
    chunk = items[:per_page]
    pages: dict[str, str] = {}
    if len(items) > per_page:
        extra = f"&status={status}" if status else ""
        pages["next"] = f"?per_page={per_page}&cursor=v1_{chunk[-1].id}{extra}"
    return Reply(200, [d.item() for d in chunk], link_header(f"{call.base}{call.path}", pages))


def find_delivery(hook: Hook, call: Call) -> Any:
    wanted = int(call.path_params["delivery_id"])
    return next((d for d in hook.deliveries if d.id == wanted), None)


@with_hook
def get_delivery(world: World, call: Call, hook: Hook) -> Reply:
    delivery = find_delivery(hook, call)
    if delivery is None:
        return invalid("delivery not found", resource="HookDelivery")
    body = delivery.item() | {
        "url": hook.config.get("url"),
        "request": {"headers": {"X-GitHub-Event": delivery.event}, "payload": delivery.payload},
        "response": {"headers": {}, "payload": None},
    }
    return Reply(200, body)


@with_hook
def redeliver(world: World, call: Call, hook: Hook) -> Reply:
    delivery = find_delivery(hook, call)
    if delivery is None:
        return invalid("delivery not found", resource="HookDelivery")
    # A redelivery keeps the X-GitHub-Delivery GUID, which is what makes the gateway's de-duplication work.
    world.deliver(hook, delivery.event, delivery.payload, guid=delivery.guid, redelivery=True)
    return Reply(202, {})


@with_hook
def ping(world: World, call: Call, hook: Hook) -> Reply:
    world.deliver(hook, "ping", ping_payload(hook, call))
    return Reply(204)


@with_hook
def test_push(world: World, call: Call, hook: Hook) -> Reply:
    # "If the hook is not subscribed to push events, the server will respond with 204 but no test POST."
    if "push" in hook.events or "*" in hook.events:
        world.deliver(hook, "push", {"ref": "refs/heads/main", "repository": {"full_name": hook.target}})
    return Reply(204)


HANDLERS: Final[dict[str, Callable[[World, Call], Reply]]] = {
    "list-webhooks": list_hooks,
    "create-webhook": create_hook,
    "get-webhook": get_hook,
    "update-webhook": update_hook,
    "delete-webhook": delete_hook,
    "get-webhook-config-for-repo": get_config,
    "get-webhook-config-for-org": get_config,
    "update-webhook-config-for-repo": update_config,
    "update-webhook-config-for-org": update_config,
    "list-webhook-deliveries": list_deliveries,
    "get-webhook-delivery": get_delivery,
    "redeliver-webhook-delivery": redeliver,
    "ping-webhook": ping,
    "test-push-webhook": test_push,
}
"""operationId without its ``repos/`` or ``orgs/`` tag -> handler."""
