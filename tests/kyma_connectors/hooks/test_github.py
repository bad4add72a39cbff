"""The GitHub hooks client: pagination, error mapping, App installation tokens."""

from __future__ import annotations

import pytest

from devtools.doubles.github import GitHubDouble
from kyma_connectors.hooks import lifecycle
from kyma_connectors.hooks.errors import AuthenticationError, InvalidSpecError, NotFoundError, ValidationFailedError
from kyma_connectors.hooks.github import GitHubHooks
from kyma_connectors.hooks.transport import RetryPolicy
from tests.kyma_connectors.hooks.helpers import (
    TOKEN,
    FakeClock,
    Receiver,
    admin,
    fast_context,
    github_spec,
    rsa_key_pair,
)

pytestmark = pytest.mark.timeout(30)


def client(url: str, **overrides: object) -> GitHubHooks:
    return GitHubHooks.for_spec(
        github_spec(url, "https://gw.example/webhook", **overrides),
        clock=FakeClock(),
        policy=RetryPolicy(timeout=(2.0, 5.0)),
    )


def test_list_follows_link_pagination(github: GitHubDouble) -> None:
    """250 hooks come back in three pages of 100 via Link rel=next."""
    for i in range(250):
        github.world.new_hook("repo", "octo/hello", [f"e{i}"], True, {"url": f"https://gw.example/{i}"})
    hooks = client(github.url).list_hooks()
    assert len(hooks) == 250
    assert len({h["id"] for h in hooks}) == 250
    assert [r["path"] for r in github.world.requests] == ["/repos/octo/hello/hooks"] * 3


def test_adoption_finds_our_hook_on_a_later_page(github: GitHubDouble, gateway: Receiver) -> None:
    """Adoption must see past page one (peers duplicated hooks they did not page to)."""
    for i in range(120):
        github.world.new_hook("repo", "octo/hello", ["push"], True, {"url": f"https://other.example/{i}"})
    ours = github.world.new_hook("repo", "octo/hello", ["push"], True, {"url": gateway.url})
    observed = lifecycle.create(github_spec(github.url, gateway.url), fast_context())
    assert observed["hook_id"] == str(ours.id)
    assert len(github.world.hooks) == 121


def test_deliveries_page_by_cursor(github: GitHubDouble) -> None:
    hook = github.world.new_hook("repo", "octo/hello", ["push"], True, {"url": "https://gw.example/x"})
    for _ in range(230):
        github.world.record_delivery(hook, event="push", status_code=200)
    items = list(client(github.url).deliveries(str(hook.id)))
    assert len(items) == 230
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)


def test_bad_token_is_an_authentication_error(github: GitHubDouble) -> None:
    with pytest.raises(AuthenticationError, match="401") as info:
        client(github.url, token="ghp_wrong_token_value").list_hooks()
    assert "ghp_wrong_token_value" not in str(info.value)


def test_missing_repo_scope_explains_the_404(github: GitHubDouble) -> None:
    admin(github.url, "POST", "tokens", {"token": "ghp_no_hook_scope", "scopes": ["read:org"]})
    with pytest.raises(NotFoundError, match="admin:repo_hook"):
        client(github.url, token="ghp_no_hook_scope").list_hooks()


def test_validation_details_are_reported(github: GitHubDouble) -> None:
    """A 422 carries GitHub's error entries into the message."""
    spec = github_spec(github.url, "https://gw.example/webhook")
    hooks = client(github.url)
    hooks.create(spec)
    with pytest.raises(ValidationFailedError, match="Hook already exists on this repository") as info:
        hooks.create(spec)
    assert info.value.already_exists


def test_app_installation_token_flow(github: GitHubDouble, gateway: Receiver) -> None:
    """App id + private key -> RS256 JWT -> installation token -> hooks API, with a freshly generated RSA key."""
    private, public = rsa_key_pair()
    admin(github.url, "POST", "apps", {"app_id": "4242", "installation_id": "99", "public_key_pem": public})
    spec = github_spec(github.url, gateway.url, token=None, app_id="4242", installation_id="99", private_key=private)
    observed = lifecycle.create(spec, fast_context())
    assert observed["ping_status"] == "ok"
    exchanges = [r for r in github.world.requests if r["path"] == "/app/installations/99/access_tokens"]
    assert [r["status"] for r in exchanges] == [201]


def test_app_with_foreign_key_is_rejected(github: GitHubDouble) -> None:
    _, public = rsa_key_pair()
    other_private, _ = rsa_key_pair()
    admin(github.url, "POST", "apps", {"app_id": "7", "installation_id": "8", "public_key_pem": public})
    spec = github_spec(
        github.url, "https://gw.example/w", token=None, app_id="7", installation_id="8", private_key=other_private
    )
    with pytest.raises(AuthenticationError, match="App JWT") as info:
        lifecycle.create(spec, fast_context())
    assert "PRIVATE KEY" not in str(info.value)


def test_app_with_wrong_installation_is_not_found(github: GitHubDouble) -> None:
    private, public = rsa_key_pair()
    admin(github.url, "POST", "apps", {"app_id": "7", "installation_id": "8", "public_key_pem": public})
    spec = github_spec(
        github.url, "https://gw.example/w", token=None, app_id="7", installation_id="9", private_key=private
    )
    with pytest.raises(NotFoundError, match="installation 9"):
        lifecycle.create(spec, fast_context())


def test_unusable_private_key_names_the_field_not_the_key(github: GitHubDouble) -> None:
    junk = "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-at-all\n-----END RSA PRIVATE KEY-----"
    spec = github_spec(
        github.url, "https://gw.example/w", token=None, app_id="7", installation_id="8", private_key=junk
    )
    with pytest.raises(InvalidSpecError, match="private_key") as info:
        lifecycle.create(spec, fast_context())
    assert "not-a-key-at-all" not in str(info.value)


def test_token_is_sent_as_bearer_only_to_the_api(github: GitHubDouble) -> None:
    """The transport keeps to the API origin: a create goes to the double and nowhere else."""
    client(github.url).create(github_spec(github.url, "https://gw.example/webhook"))
    assert {r["path"].split("/")[1] for r in github.world.requests} == {"repos"}
    assert TOKEN in github.world.tokens


def test_clients_keep_credentials_out_of_repr(github: GitHubDouble) -> None:
    """A client in a traceback or log line must not show the token or the webhook secret."""
    text = repr(client(github.url))
    assert TOKEN not in text
    assert "It's a Secret" not in text
