"""Applying the wanted events to the hooks, against the GitHub and Qualtrics doubles (no API server needed)."""

from __future__ import annotations

from pathlib import Path

from devtools.doubles.github import GitHubDouble
from devtools.doubles.qualtrics import QualtricsDouble
from kyma_connectors.core.catalog import load_catalog
from kyma_connectors.hooks.transport import RetryPolicy, SystemClock
from kyma_connectors.reconciler import hooks
from kyma_connectors.reconciler.settings import Credentials, Settings

TOKEN = "ghp_reconciler_hooks"
URL = "https://github-acme-webhook.example/webhook"
CREDS = Credentials(token=TOKEN, app_id=None, installation_id=None, private_key=None, webhook_secret="shared-key")
POLICY = RetryPolicy(attempts=2, backoff=0.01, timeout=(2.0, 5.0))


def settings(api_url: str, solution: str = "github", targets: tuple[str, ...] = ("acme/widgets", "org:acme")
             ) -> Settings:
    return Settings(application="github-acme", solution=solution, source="github-acme", api_url=api_url,
                    targets=targets if solution == "github" else ("",), webhook_url=URL,
                    credentials_dir=Path("/nonexistent"))


def test_each_github_hook_gets_what_its_kind_can_subscribe_to() -> None:
    with GitHubDouble(tokens=(TOKEN,)) as github:
        repo = github.world.new_hook("repo", "acme/widgets", ["push"], False, {"url": URL})
        org = github.world.new_hook("org", "acme", ["push"], False, {"url": URL})
        applied = hooks.apply(settings(github.url), CREDS, ["push", "team"], load_catalog("github"), policy=POLICY,
                              clock=SystemClock())
        assert [a.changed for a in applied] == [True, True]
        assert (sorted(repo.events), repo.active) == (["push"], True)  # team is an organization-only event
        assert (sorted(org.events), org.active) == (["push", "team"], True)
        again = hooks.apply(settings(github.url), CREDS, ["team", "push"], load_catalog("github"), policy=POLICY,
                            clock=SystemClock())
        assert [a.calls for a in again] == [0, 0]  # idempotent: the hooks already say so


def test_a_missing_hook_is_waited_for_not_created() -> None:
    with GitHubDouble(tokens=(TOKEN,)) as github:
        (applied,) = hooks.apply(settings(github.url, targets=("acme/widgets",)), CREDS, ["push"],
                                 load_catalog("github"), policy=POLICY, clock=SystemClock())
        assert applied.waiting
        assert github.world.hooks == {}


def test_qualtrics_duplicates_and_unwanted_topics_go() -> None:
    catalog = load_catalog("qualtrics")
    with QualtricsDouble(tokens=(TOKEN,)) as qualtrics:
        (topic,) = catalog.subscriptions(["surveyengine.completedResponse"])
        qualtrics.brand.add(topic, URL, "old-key")
        qualtrics.brand.add(topic, URL, "old-key")  # a duplicate would deliver every event twice
        qualtrics.brand.add("controlpanel.activateSurvey", URL, "old-key")
        (applied,) = hooks.apply(settings(qualtrics.url, "qualtrics"), CREDS, ["surveyengine.completedResponse"],
                                 catalog, policy=POLICY, clock=SystemClock())
        assert applied.calls == 2
        assert sorted(s["topics"] for s in qualtrics.brand.subscriptions.values()) == [topic]
