"""Each kind of bad stack config: its specific message, every problem at once, no secret echoed, nothing registered."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_connectors.program import ConfigValidationError, parse, read_raw
from tests.support.paths import SPECS
from tests.support.pulumi_mocks import PROJECT, MockStack, example_config, run_main

Raw = dict[str, Any]
SECRET = "s3cr3t-value-that-must-never-appear"


def raw_config() -> Raw:
    """The example stack's config (tokens set) without the namespace prefix, as the program reads it."""
    return read_raw({k: v if isinstance(v, str) else json.dumps(v) for k, v in example_config().items()})


def _set(path: str, value: Any) -> Callable[[Raw], None]:
    """A mutation setting ``a.b[0].c`` (creating dicts on the way); ``...`` as value deletes the key."""

    def mutate(raw: Raw) -> None:
        parts = [int(p) if p.isdigit() else p for p in path.replace("[", ".").replace("]", "").split(".")]
        node: Any = raw
        for part in parts[:-1]:
            node = node[part] if isinstance(part, int) else node.setdefault(part, {})
        if value is ...:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value

    return mutate


CASES: list[tuple[str, list[Callable[[Raw], None]], str]] = [
    ("repository format", [_set("connectors[0].github.repositories[0]", "acme")],
     'connectors[0].github.repositories[0]: expected "owner/repo", got "acme"'),
    ("same repository in another case", [_set("connectors[0].github.repositories[1]", "ACME/Widgets")],
     'connectors[0].github.repositories[1]: "ACME/Widgets" is repositories[0] again '
     "(GitHub names are case-insensitive)"),
    ("webhook host taken", [_set("connectors[1].gateway.host", "github-acme-webhook")],
     'connectors[1].gateway.host: "github-acme-webhook" is also the webhook host of connectors[0]'),
    ("webhook host of a later connector", [_set("connectors[0].gateway", {"host": "qualtrics-surveys-webhook"})],
     'connectors[0].gateway.host: "qualtrics-surveys-webhook" is also the webhook host of connectors[1]'),
    ("missing required key", [_set("clusterDomain", ...)], "clusterDomain: required"),
    ("unknown key", [_set("connectors[1].repo", "x")], "connectors[1].repo: unknown key (expected one of: apiUrl,"),
    ("wrong type", [_set("createNamespace", "yes")], "createNamespace: expected a boolean (true/false), got a string"),
    ("unknown solution", [_set("connectors[1].solution", "jira")],
     'connectors[1].solution: expected one of "github", "qualtrics", "generic", got "jira"'),
    ("contract flag", [_set("kymaContract", "v3")], 'kymaContract: expected one of "modular", "legacy", got "v3"'),
    ("oversize policy", [_set("oversize", "drop")], 'oversize: expected one of "trim", "refuse", got "drop"'),
    ("publisher limit", [_set("publisherMaxBytes", 100)], "publisherMaxBytes: "),
    ("scraper namespace", [_set("metricsScraper", {"namespace": "Bad NS"})],
     'metricsScraper.namespace: expected a namespace name, got "Bad NS"'),
    ("bad name", [_set("connectors[0].name", "GitHub_Acme")],
     "connectors[0].name: expected lowercase letters, digits and '-', starting with a letter"),
    ("duplicate name", [_set("connectors[1].name", "github-acme")],
     'connectors[1].name: duplicate "github-acme" (also connectors[0].name)'),
    ("eventing name collision", [_set("connectors[1].name", "githubacme")],
     'both become the Kyma eventing name "githubacme"'),
    ("unknown event", [_set("connectors[0].events[1]", "pull_requests")],
     'connectors[0].events[1]: unknown github event "pull_requests" (did you mean "pull_request"'),
    ("own catalog on a shipped solution", [_set("connectors[0].catalog", "acme-events.yaml")],
     "connectors[0].catalog: only valid for solution generic"),
    ("organization-only event without an organization", [_set("connectors[0].github.organization", ...),
                                                         _set("connectors[0].events[0]", "team")],
     'connectors[0].events[0]: "team" is delivered to organization hooks only: set github.organization'),
    ("unsubscribable event", [_set("connectors[0].events[0]", "ping")],
     'connectors[0].events[0]: "ping" cannot be subscribed to'),
    ("GHES URL without /api/v3", [_set("connectors[0].apiUrl", "https://github.example.com")],
     "connectors[0].apiUrl: expected https://api.github.com or a GitHub Enterprise Server URL https://HOST/api/v3, "
     'got "https://github.example.com" (a GitHub Enterprise Server API lives under /api/v3)'),
    ("github.com instead of the API host", [_set("connectors[0].apiUrl", "https://github.com")],
     "(the REST API of github.com is https://api.github.com)"),
    ("plain http to a real host", [_set("connectors[0].apiUrl", "http://ghe.example.com/api/v3")],
     "connectors[0].apiUrl: expected https (plain http only for loopback test doubles)"),
    ("qualtrics without API URL", [_set("connectors[1].qualtrics", ...)],
     "connectors[1].apiUrl: required for qualtrics: https://<datacenter>.qualtrics.com/API/v3"),
    ("no webhook target", [_set("connectors[0].github", {})],
     "connectors[0].github: set repositories and/or organization"),
    ("block of another solution", [_set("connectors[1].github", {"organization": "acme"})],
     "connectors[1].github: only valid for solution github (this is qualtrics)"),
    ("missing token", [_set("connectors[0].credentials", {})],
     "connectors[0].credentials.token: required: a token or GitHub App credentials (app) to manage the webhook; "
     "set it with: pulumi config set --secret --path 'connectors[0].credentials.token' <token>"),
    ("token and app", [_set("connectors[0].credentials.app", {"appId": "1", "installationId": "2",
                                                              "privateKey": SECRET})],
     "connectors[0].credentials: set either token or app, not both"),
    ("OAuth without its fields", [_set("connectors[1].credentials.api", {"type": "OAuth", "clientId": "c"})],
     "connectors[1].credentials.api.clientSecret: required"),
    ("generic basic auth secret shape", [_set("connectors[1]", {"name": "hooks", "solution": "generic",
                                                                "generic": {"auth": "basic"},
                                                                "webhookSecret": SECRET})],
     'connectors[1].webhookSecret: basic auth expects "user:password"'),
    ("comma in the webhook secret", [_set("connectors[0].webhookSecret", SECRET + ",x")],
     'connectors[0].webhookSecret: must not contain ","'),
    ("comma in the previous webhook secret", [_set("connectors[0].webhookSecret", SECRET),
                                              _set("connectors[0].previousWebhookSecret", SECRET + ",x")],
     'connectors[0].previousWebhookSecret: must not contain ","'),
    ("rotation without a new secret", [_set("connectors[0].previousWebhookSecret", SECRET)],
     "connectors[0].previousWebhookSecret: needs webhookSecret"),
    ("credential of wrong type", [_set("connectors[0].credentials.token", {"value": SECRET})],
     "connectors[0].credentials.token: expected a string or an integer, got an object"),
]


@pytest.mark.parametrize(("mutations", "expected"), [pytest.param(m, e, id=i) for i, m, e in CASES])
def test_bad_config_has_its_specific_message(mutations: list[Callable[[Raw], None]], expected: str) -> None:
    """parse() raises one ConfigValidationError whose problems include the expected path-and-message."""
    raw = raw_config()
    for mutate in mutations:
        mutate(raw)
    with pytest.raises(ConfigValidationError) as caught:
        parse(raw, secret_keys=frozenset({"connectors"}))
    assert any(expected in message for message in caught.value.messages), caught.value.messages
    assert SECRET not in str(caught.value)
    assert "ghp_example-token-value" not in str(caught.value)


@pytest.mark.parametrize(("mutations", "expected"), [pytest.param(m, e, id=i) for i, m, e in CASES])
def test_bad_config_registers_no_resource(mutations: list[Callable[[Raw], None]], expected: str) -> None:
    """The program stops before registering anything, with the same message."""
    config = example_config()
    raw = raw_config()
    for mutate in mutations:
        mutate(raw)
    config = {f"{PROJECT}:{key}": value for key, value in raw.items()}
    stack = MockStack(config=config, secret_keys=["connectors"])
    with pytest.raises(ConfigValidationError, match=None) as caught:
        run_main(stack)
    assert any(expected in message for message in caught.value.messages)
    assert stack.registrations == []


def test_every_problem_is_reported_at_once() -> None:
    """Five independent mistakes give five problems, in config order, in one error."""
    raw = raw_config()
    for mutate in (_set("clusterDomain", "not a domain"), _set("connectors[0].github.repositories[1]", "x"),
                   _set("connectors[0].events[0]", "nope"), _set("connectors[1].name", "github-acme"),
                   _set("connectors[1].credentials", {})):
        mutate(raw)
    with pytest.raises(ConfigValidationError) as caught:
        parse(raw, secret_keys=frozenset({"connectors"}))
    paths = [problem.path for problem in caught.value.problems]
    assert paths == ["clusterDomain", "connectors[0].events[0]", "connectors[0].github.repositories[1]",
                     "connectors[1].credentials.token", "connectors[1].name"]
    assert str(caught.value).startswith("kyma-connectors stack config has 5 problems:\n  - clusterDomain: ")


def test_plaintext_credentials_are_refused_with_the_fixing_command() -> None:
    """A token in a key Pulumi does not hold encrypted is a leak in Pulumi.<stack>.yaml: refused, value not echoed."""
    raw = raw_config()
    with pytest.raises(ConfigValidationError) as caught:
        parse(raw, secret_keys=frozenset())
    assert caught.value.messages == [
        "connectors[0].credentials.token: stored in plain text; set it encrypted with: "
        "pulumi config set --secret --path 'connectors[0].credentials.token' <value>",
        "connectors[1].credentials.token: stored in plain text; set it encrypted with: "
        "pulumi config set --secret --path 'connectors[1].credentials.token' <value>",
    ]
    assert "example-token" not in str(caught.value)


def test_duplicate_problems_are_reported_once() -> None:
    """A path the schema already flagged gets no second, semantic message."""
    raw = raw_config()
    _set("connectors[1].apiUrl", "ftp://fra1.qualtrics.com/API/v3")(raw)
    with pytest.raises(ConfigValidationError) as caught:
        parse(raw, secret_keys=frozenset({"connectors"}))
    assert [m for m in caught.value.messages if m.startswith("connectors[1].apiUrl")] == [
        'connectors[1].apiUrl: expected an http(s) URL, got "ftp://fra1.qualtrics.com/API/v3"'
    ]


def test_the_example_stack_is_valid() -> None:
    """Pulumi.dev.yaml (with its documented secrets set) passes every check.

    Parsed inside a (mock) program run: its secrets become ``Output.secret`` tasks, which need the runtime's loop to
    finish rather than linger, pending, until the interpreter exits.
    """
    settings = MockStack().run(lambda: parse(copy.deepcopy(raw_config()), secret_keys=frozenset({"connectors"})))
    assert [c.name for c in settings.connectors] == ["github-acme", "qualtrics-surveys"]


def _generic_with_catalog(path: str, events: list[str] | None = None) -> Raw:
    raw = raw_config()
    connector: dict[str, Any] = {"name": "acme-shop", "solution": "generic", "catalog": path}
    if events is not None:
        connector["events"] = events
    raw["connectors"] = [connector]
    return raw


def test_a_generic_connectors_own_catalog_is_checked_like_the_shipped_ones(tmp_path: Path) -> None:
    """Every problem of the user's AsyncAPI document is reported under connectors[i].catalog, with its file."""
    broken = tmp_path / "asyncapi.yaml"
    broken.write_text(yaml.safe_dump({"asyncapi": "2.6.0", "info": {"title": "Acme", "version": "v1"}, "channels": {
        "Order_Placed": {"subscribe": {"message": {"x-kyma-connectors": {"event": "order.placed"}}}},
        "order.paid.v1": {"subscribe": {"message": {"name": "order.paid"}}},
    }}))
    with pytest.raises(ConfigValidationError) as caught:
        parse(_generic_with_catalog(str(broken)), secret_keys=frozenset({"connectors"}))
    messages = caught.value.messages
    assert any(m.startswith(f"connectors[0].catalog: {broken}: channels.Order_Placed: channel name must be") for m in
               messages), messages
    assert any("channels.order.paid.v1.subscribe.message.x-kyma-connectors.event" in m for m in messages), messages
    with pytest.raises(ConfigValidationError, match="cannot read"):
        parse(_generic_with_catalog(str(tmp_path / "missing.yaml")), secret_keys=frozenset({"connectors"}))
    good = tmp_path / "good.yaml"
    good.write_text((SPECS / "generic" / "asyncapi.yaml").read_text().replace("event: webhook", "event: order"))
    with pytest.raises(ConfigValidationError, match=r'connectors\[0\]\.events\[0\]: unknown generic event "webhook"'):
        parse(_generic_with_catalog(str(good), ["webhook"]), secret_keys=frozenset({"connectors"}))
    settings = parse(_generic_with_catalog(str(good), ["order"]), secret_keys=frozenset({"connectors"}))
    assert settings.connectors[0].catalog == str(good)
