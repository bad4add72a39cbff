"""Validation of the raw stack config: the JSON Schema (kyma_connectors/program/schema.json) first, then the rules a
schema cannot say.

Both layers report into one list of :class:`~config.errors.Problem` with the config path of each problem, so the
user sees every mistake at once. Values are echoed only where they are not secret: anything under ``credentials`` or
``webhookSecret`` is described, never shown (schema libraries print the offending value by default; we do not use
their messages for that reason).

Semantic rules: connector names unique and safe for Kyma eventing; solution blocks only on their solution; webhook
targets present; API URLs shaped as GitHub / GitHub Enterprise Server / Qualtrics expect; events known to the
solution's catalog and subscribable; exactly the credentials each solution needs; and credentials stored encrypted
(``pulumi config set --secret``), never in plain text in ``Pulumi.<stack>.yaml``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import jsonschema

from kyma_connectors.core.catalog import Catalog, CatalogError, load_catalog, load_catalog_file
from kyma_connectors.core.problems import Problem
from kyma_connectors.program import subscriptions

SCHEMA_PATH: Final[Path] = Path(__file__).with_name("schema.json")
SECRET_KEYS: Final[frozenset[str]] = frozenset({"credentials", "webhookSecret", "previousWebhookSecret"})
"""Config subtrees whose values are secret: never echoed, and required to be stored encrypted."""
SECRET_LEAVES: Final[tuple[str, ...]] = (
    "webhookSecret",
    "previousWebhookSecret",
    "credentials.token",
    "credentials.app.privateKey",
    "credentials.api.password",
    "credentials.api.clientSecret",
    "credentials.requestParameters",
)
"""Connector fields that must come from ``pulumi config set --secret``."""
LOOPBACK_HOSTS: Final[frozenset[str]] = frozenset({"127.0.0.1", "localhost", "::1"})
"""Hosts allowed over plain http (test doubles on the local control plane); everything else needs https."""

_NON_ALNUM: Final[re.Pattern[str]] = re.compile(r"[^a-z0-9]+")
_REQUIRED: Final[re.Pattern[str]] = re.compile(r"^'(?P<key>.+)' is a required property$")
_SCHEMA_TYPES: Final[dict[str, str]] = {"object": "an object", "array": "a list", "string": "a string",
                                         "boolean": "a boolean (true/false)", "integer": "an integer",
                                         "number": "a number"}
_JSON_TYPES: Final[dict[type, str]] = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
                                       int: "an integer", float: "a number", type(None): "null"}


def application_type(application: str) -> str:
    """The name as Kyma's EventMesh backend keeps it in subjects: non-alphanumerics removed.

    eventing-manager pkg/backend/cleaner/eventmesh.go ``CleanSource`` strips everything but ``[a-zA-Z0-9]``, so on
    EventMesh ``a-b`` and ``ab`` share subjects; :func:`semantic_problems` refuses two connectors whose cleaned forms
    collide. (Not a label: the Application carries no ``application-type``, see components/kyma_application.py.)
    """
    return _NON_ALNUM.sub("", application.lower())


@cache
def schema() -> dict[str, Any]:
    """The stack config JSON Schema shipped in the repository."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def format_path(parts: Iterable[str | int]) -> str:
    """``["connectors", 1, "github"]`` -> ``connectors[1].github``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _is_secret(parts: Sequence[str | int]) -> bool:
    return any(part in SECRET_KEYS for part in parts)


def _got(value: Any, parts: Sequence[str | int]) -> str:
    if _is_secret(parts):
        return ""
    return f", got {json.dumps(value)}" if isinstance(value, str | int | float | bool) else ""


def _as_list(rule: Any) -> list[Any]:
    return list(rule) if isinstance(rule, list) else [rule]


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def schema_problems(raw: Mapping[str, Any]) -> list[Problem]:
    """Every JSON Schema violation, rewritten as a path-and-expectation message without secret values."""
    validator = jsonschema.Draft202012Validator(schema())
    problems: list[Problem] = []
    for error in validator.iter_errors(raw):
        problems.extend(_from_schema_error(error))
    return problems


def _from_schema_error(error: jsonschema.ValidationError) -> list[Problem]:
    parts = list(error.absolute_path)
    kind, value = error.validator, error.instance
    rule: Any = error.validator_value
    node: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    where = format_path(parts)
    if kind == "required":
        match = _REQUIRED.match(error.message)
        key = match.group("key") if match else "?"
        return [Problem(format_path([*parts, key]), "required")]
    if kind == "additionalProperties" and isinstance(value, dict):
        known = sorted(node.get("properties", {}))
        return [Problem(format_path([*parts, key]), f"unknown key (expected one of: {', '.join(known)})")
                for key in sorted(set(value) - set(known))]
    expected = node.get("x-expected")
    messages: dict[str, Callable[[], str]] = {
        "pattern": lambda: f"expected {expected or 'a value matching ' + str(rule)}",
        "type": lambda: f"expected {' or '.join(_SCHEMA_TYPES.get(str(t), str(t)) for t in _as_list(rule))}"
                        f", got {_type_name(value)}",
        "enum": lambda: f"expected one of {', '.join(json.dumps(v) for v in rule)}",
        "minItems": lambda: f"expected at least {rule} item{'s' if rule != 1 else ''}",
        "minLength": lambda: "must not be empty" if rule == 1 else f"expected at least {rule} characters",
        "maxLength": lambda: f"expected at most {rule} characters",
        "uniqueItems": lambda: "items must be unique",
        "minimum": lambda: f"expected at least {rule}",
        "maximum": lambda: f"expected at most {rule}",
    }
    if kind in messages:
        suffix = "" if kind in ("type", "uniqueItems", "minItems") else _got(value, parts)
        return [Problem(where, messages[str(kind)]() + suffix)]
    return [Problem(where, "invalid value" if _is_secret(parts) else error.message)]


# --- semantic rules ----------------------------------------------------------------------------------------------


def semantic_problems(raw: Mapping[str, Any], *, secret_keys: frozenset[str] = frozenset()) -> list[Problem]:
    """Rules beyond the schema; ``secret_keys`` are the top-level keys Pulumi holds encrypted (e.g. ``connectors``)."""
    connectors = raw.get("connectors")
    if not isinstance(connectors, list):
        return []
    problems: list[Problem] = []
    _unique_names(connectors, problems)
    _unique_hosts(connectors, problems)
    problems += subscriptions.unique_subscriptions(connectors)
    for index, connector in enumerate(connectors):
        if isinstance(connector, dict):
            _connector_problems(f"connectors[{index}]", connector, problems)
            solution = connector.get("solution")
            catalog = _catalog(solution) if isinstance(solution, str) else None
            problems += subscriptions.events_problems(f"connectors[{index}]", connector)
            problems += subscriptions.subscription_problems(f"connectors[{index}]", connector, catalog)
            if "connectors" not in secret_keys:
                _plaintext_secrets(f"connectors[{index}]", connector, problems)
    return problems


def _unique_names(connectors: list[Any], problems: list[Problem]) -> None:
    names: dict[str, int] = {}
    cleaned: dict[str, int] = {}
    for index, connector in enumerate(connectors):
        name = connector.get("name") if isinstance(connector, dict) else None
        if not isinstance(name, str) or not name:
            continue
        if name in names:
            problems.append(Problem(f"connectors[{index}].name",
                                    f'duplicate "{name}" (also connectors[{names[name]}].name)'))
            continue
        names[name] = index
        clean = application_type(name)
        if clean in cleaned:
            other = connectors[cleaned[clean]]["name"]
            problems.append(Problem(f"connectors[{index}].name",
                                    f'"{name}" and "{other}" (connectors[{cleaned[clean]}]) both become the Kyma '
                                    f'eventing name "{clean}"; rename one'))
        cleaned.setdefault(clean, index)


def _unique_hosts(connectors: list[Any], problems: list[Problem]) -> None:
    """Two APIRules cannot serve one host: an explicit ``gateway.host`` must differ from every other's host."""
    entries: list[tuple[int, str, bool]] = []
    for index, connector in enumerate(connectors):
        if not isinstance(connector, dict) or not isinstance(connector.get("name"), str):
            continue
        gateway = connector.get("gateway")
        host = gateway.get("host") if isinstance(gateway, dict) else None
        if isinstance(host, str):
            entries.append((index, host, True))
        else:
            entries.append((index, f"{connector['name']}-webhook", False))
    for index, host, explicit in entries:
        others = [other for other, other_host, _ in entries if other_host == host and other != index]
        if explicit and others:
            problems.append(Problem(f"connectors[{index}].gateway.host",
                                    f'"{host}" is also the webhook host of connectors[{others[0]}]'))


def _connector_problems(where: str, connector: Mapping[str, Any], problems: list[Problem]) -> None:
    solution = connector.get("solution")
    for block in ("github", "qualtrics", "generic"):
        if block in connector and solution != block:
            problems.append(Problem(f"{where}.{block}", f"only valid for solution {block} (this is {solution})"))
    if solution == "github":
        _github(where, connector, problems)
    elif solution == "qualtrics":
        _qualtrics(where, connector, problems)
    elif solution == "generic":
        _generic(where, connector, problems)
    if isinstance(solution, str):
        _events(where, solution, connector.get("catalog"), connector.get("events"), problems)
    if solution == "github":
        _organization_only_events(where, connector, problems)
    for key in ("webhookSecret", "previousWebhookSecret"):
        secret = connector.get(key)
        if isinstance(secret, str) and "," in secret:
            # GATEWAY_WEBHOOK_SECRETS is a comma-separated list: a comma would split this secret in two.
            problems.append(Problem(f"{where}.{key}", 'must not contain "," (the gateway reads a comma-separated '
                                    "list of accepted secrets)"))
    if "previousWebhookSecret" in connector and "webhookSecret" not in connector:
        problems.append(Problem(f"{where}.previousWebhookSecret", "needs webhookSecret: a rotation names the new "
                                "secret explicitly (a generated one cannot be rotated to)"))
    credentials = connector.get("credentials")
    has_api = bool(connector.get("apiUrl")) or solution in ("github",) or bool(
        isinstance(connector.get("qualtrics"), dict) and connector["qualtrics"].get("datacenter"))
    if isinstance(credentials, dict) and not has_api:
        for key in ("api", "requestParameters"):
            if key in credentials:
                problems.append(Problem(f"{where}.credentials.{key}", "no API is registered for this connector "
                                        "(set apiUrl to register one)"))


def _github(where: str, connector: Mapping[str, Any], problems: list[Problem]) -> None:
    github = connector.get("github")
    targets = isinstance(github, dict) and (github.get("repositories") or github.get("organization"))
    if not targets:
        problems.append(Problem(f"{where}.github", "set repositories and/or organization: where the webhooks go"))
    repositories = github.get("repositories") if isinstance(github, dict) else None
    seen: dict[str, int] = {}
    for index, repository in enumerate(repositories if isinstance(repositories, list) else []):
        key = repository.lower() if isinstance(repository, str) else None
        if key in seen:
            problems.append(Problem(f"{where}.github.repositories[{index}]", f'"{repository}" is repositories'
                                    f"[{seen[key]}] again (GitHub names are case-insensitive)"))
        elif key is not None:
            seen[key] = index
    url = connector.get("apiUrl")
    if isinstance(url, str):
        reason = github_api_url_problem(url)
        if reason:
            problems.append(Problem(f"{where}.apiUrl", reason))
    _token_or_app(where, connector, problems, app_allowed=True)


def github_api_url_problem(url: str) -> str | None:
    """Why ``url`` is not a GitHub REST base URL (``https://api.github.com`` or GHES ``https://HOST/api/v3``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    expected = "expected https://api.github.com or a GitHub Enterprise Server URL https://HOST/api/v3"
    if host == "api.github.com":
        ok = parts.scheme == "https" and parts.path in ("", "/") and not parts.port
        return None if ok else f'{expected}, got "{url}"'
    if host == "github.com":
        return f'{expected}, got "{url}" (the REST API of github.com is https://api.github.com)'
    if parts.path.rstrip("/") != "/api/v3" or parts.query or parts.fragment:
        return f'{expected}, got "{url}" (a GitHub Enterprise Server API lives under /api/v3)'
    return _scheme_problem(url, host, parts.scheme)


def qualtrics_api_url_problem(url: str) -> str | None:
    """Why ``url`` is not a Qualtrics API base URL (``https://<datacenter>.qualtrics.com/API/v3``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.path.rstrip("/") != "/API/v3" or parts.query or parts.fragment:
        return f'expected https://<datacenter>.qualtrics.com/API/v3, got "{url}"'
    return _scheme_problem(url, host, parts.scheme)


def _scheme_problem(url: str, host: str, scheme: str) -> str | None:
    if scheme == "https" or (scheme == "http" and host in LOOPBACK_HOSTS):
        return None
    return f'expected https (plain http only for loopback test doubles), got "{url}"'


def _qualtrics(where: str, connector: Mapping[str, Any], problems: list[Problem]) -> None:
    url = connector.get("apiUrl")
    qualtrics = connector.get("qualtrics")
    datacenter = qualtrics.get("datacenter") if isinstance(qualtrics, dict) else None
    if isinstance(url, str):
        reason = qualtrics_api_url_problem(url)
        if reason:
            problems.append(Problem(f"{where}.apiUrl", reason))
    elif not datacenter:
        problems.append(Problem(f"{where}.apiUrl", "required for qualtrics: https://<datacenter>.qualtrics.com/API/v3 "
                                "(or set qualtrics.datacenter)"))
    _token_or_app(where, connector, problems, app_allowed=False)


def _token_or_app(where: str, connector: Mapping[str, Any], problems: list[Problem], *, app_allowed: bool) -> None:
    credentials = connector.get("credentials")
    credentials = credentials if isinstance(credentials, dict) else {}
    has_token, has_app = "token" in credentials, "app" in credentials
    hint = f"pulumi config set --secret --path '{where}.credentials.token' <token>"
    if has_app and not app_allowed:
        problems.append(Problem(f"{where}.credentials.app", "GitHub App credentials are only for solution github"))
    elif has_token and has_app:
        problems.append(Problem(f"{where}.credentials", "set either token or app, not both"))
    elif not has_token and not has_app:
        what = "a token or GitHub App credentials (app)" if app_allowed else "an API token"
        problems.append(Problem(f"{where}.credentials.token",
                                f"required: {what} to manage the webhook; set it with: {hint}"))


def _generic(where: str, connector: Mapping[str, Any], problems: list[Problem]) -> None:
    credentials = connector.get("credentials")
    if isinstance(credentials, dict):
        for key in ("token", "app"):
            if key in credentials:
                problems.append(Problem(f"{where}.credentials.{key}",
                                        "generic connectors register no webhook; remove it"))
    generic = connector.get("generic")
    auth = generic.get("auth") if isinstance(generic, dict) else None
    secret = connector.get("webhookSecret")
    if auth == "basic":
        if secret is None:
            problems.append(Problem(f"{where}.webhookSecret", 'required for basic auth: the sender\'s "user:password"'))
        elif ":" not in str(secret):
            problems.append(Problem(f"{where}.webhookSecret", 'basic auth expects "user:password"'))


@cache
def _catalog(solution: str) -> Catalog | None:
    try:
        return load_catalog(solution)
    except CatalogError:
        return None


def _own_catalog(where: str, solution: str, path: Any, problems: list[Problem]) -> Catalog | None:
    """A connector's own catalog (``catalog:``), checked exactly like the shipped ones, every problem reported."""
    if solution != "generic":
        problems.append(Problem(f"{where}.catalog", f"only valid for solution generic (the {solution} catalog is "
                                "shipped: specs/<solution>/asyncapi.yaml)"))
        return None
    if not isinstance(path, str):
        return None
    try:
        return load_catalog_file(path, solution=solution)
    except CatalogError as exc:
        problems.extend(Problem(f"{where}.catalog", f"{path}: {problem}") for problem in exc.problems)
        return None


def _events(where: str, solution: str, own: Any, events: Any, problems: list[Problem]) -> None:
    if own is not None:
        catalog = _own_catalog(where, solution, own, problems)
        if catalog is None:
            return
    else:
        catalog = _catalog(solution)
    if catalog is None:
        problems.append(Problem(f"{where}.solution", f'no event catalog shipped for "{solution}" '
                                f"(specs/{solution}/asyncapi.yaml)"))
        return
    if not isinstance(events, list):
        return
    known = {entry.event: entry.subscribable for entry in catalog.events}
    for index, event in enumerate(events):
        if not isinstance(event, str):
            continue
        if event not in known:
            problems.append(Problem(f"{where}.events[{index}]", f'unknown {solution} event "{event}" '
                                    f"({_suggest(event, catalog)})"))
        elif not known[event]:
            problems.append(Problem(f"{where}.events[{index}]", f'"{event}" cannot be subscribed to (it is sent '
                                    "without subscription)"))


def _suggest(event: str, catalog: Catalog) -> str:
    """The closest catalog names, or where the list is: GitHub's catalog has ~50 subscribable events."""
    names = catalog.native_events()
    close = difflib.get_close_matches(event, names, n=3, cutoff=0.75)
    if close:
        return "did you mean " + " or ".join(f'"{name}"' for name in close) + "?"
    if len(names) <= 10:
        return "known: " + ", ".join(names)
    return f"{len(names)} events are subscribable, listed in {catalog.path.parent.name}/{catalog.path.name}"


def _organization_only_events(where: str, connector: Mapping[str, Any], problems: list[Problem]) -> None:
    """An event only organization hooks can subscribe to (``team``, ``organization``) needs an organization hook."""
    events, github, catalog = connector.get("events"), connector.get("github"), _catalog("github")
    if not isinstance(events, list) or catalog is None or (isinstance(github, dict) and github.get("organization")):
        return
    for index, event in enumerate(events):
        kinds = {kind for entry in catalog.events if entry.event == event for kind in entry.hooks or ("*",)}
        if kinds == {"organization"}:
            problems.append(Problem(f"{where}.events[{index}]", f'"{event}" is delivered to organization hooks only: '
                                    "set github.organization, or remove it"))


def _plaintext_secrets(where: str, connector: Mapping[str, Any], problems: list[Problem]) -> None:
    for leaf in SECRET_LEAVES:
        node: Any = connector
        for part in leaf.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            problems.append(Problem(f"{where}.{leaf}", "stored in plain text; set it encrypted with: "
                                    f"pulumi config set --secret --path '{where}.{leaf}' <value>"))
