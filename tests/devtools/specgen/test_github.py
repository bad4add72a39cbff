"""The GitHub catalog generator against the real schemas in ../shared/github/schemas, and the committed output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from devtools.specgen import github
from devtools.specgen.__main__ import main
from kyma_connectors.core.catalog import derive_type, load_catalog, parse_catalog
from tests.support.paths import GITHUB, SPECS

SCHEMAS = GITHUB / "schemas" / "api.github.com"
COMMITTED = SPECS / "github" / "asyncapi.yaml"

pytestmark = pytest.mark.timeout(60)


def _schema_files() -> list[tuple[str, str | None]]:
    """(event, action) for every payload schema, read straight from the folder layout."""
    found = []
    for path in sorted(SCHEMAS.glob("*/*.schema.json")):
        if path.parent.name == "common":
            continue
        action = None if path.name == "event.schema.json" else path.name.removesuffix(".schema.json")
        found.append((path.parent.name, action))
    return found


def test_committed_catalog_is_the_generator_output() -> None:
    """Fails whenever specs/github/asyncapi.yaml was edited by hand or the schemas moved on: run `make specs`."""
    assert COMMITTED.read_text(encoding="utf-8") == github.render(SCHEMAS)
    assert main(["--check", "--schemas", str(SCHEMAS), "--out", str(COMMITTED)]) == 0


def test_every_event_and_action_of_the_schemas_is_a_channel_named_by_the_rule() -> None:
    catalog = load_catalog("github")
    expected = _schema_files()
    assert len({event for event, _ in expected}) >= 60  # GitHub sends about 70 events; the schemas hold 66
    assert sorted((e.event, e.action) for e in catalog.events) == sorted(expected)
    for entry in catalog.events:
        assert entry.type == derive_type(entry.event, entry.action)
        assert entry.summary.startswith(f"GitHub `{entry.event}` event")
    for event, action in [("watch", "started"), ("discussion", "created"), ("deployment_status", "created"),
                          ("pull_request_review_comment", "created"), ("registry_package", "published"),
                          ("installation_repositories", "added"), ("security_advisory", "published")]:
        assert catalog.type_for(event, action) == derive_type(event, action)


def test_messages_carry_the_payload_schema_top_level_and_a_pinned_reference() -> None:
    document = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    message = document["channels"]["issues.opened.v1"]["subscribe"]["message"]
    schema = json.loads((SCHEMAS / "issues" / "opened.schema.json").read_text())
    payload = message["payload"]
    assert payload["required"] == schema["required"]
    assert set(payload["properties"]) == set(schema["properties"])
    assert payload["properties"]["action"]["enum"] == ["opened"]
    assert payload["properties"]["sender"]["type"] == "object"
    assert f"/blob/{github.UPSTREAM_COMMIT}/payload-schemas/api.github.com/issues/opened.schema.json" in (
        payload["description"])
    push = document["channels"]["push.v1"]["subscribe"]["message"]["payload"]["properties"]
    assert push["head_commit"]["type"] == ["object", "null"]  # oneOf [commit, null]
    assert "refs/heads/main" in push["ref"]["description"]


def test_app_and_marketplace_events_ping_and_meta_are_mapped_but_not_subscribable() -> None:
    catalog = load_catalog("github")
    repository_hook = set(catalog.native_events("repository"))
    organization_hook = set(catalog.native_events("organization"))
    for event in ("installation", "installation_repositories", "marketplace_purchase", "security_advisory",
                  "github_app_authorization", "sponsorship", "ping", "meta"):
        assert event not in organization_hook | repository_hook, event
        assert any(e.event == event and not e.subscribable for e in catalog.events), event
    assert catalog.type_for("installation", "created") == "installation.created.v1"
    assert catalog.type_for("ping") == "ping.v1"
    assert catalog.type_for("meta", "deleted") == "meta.deleted.v1"
    # organization-only events: org hooks subscribe to them, repository hooks do not
    assert {"organization", "team", "membership"} <= organization_hook - repository_hook
    assert {"push", "issues", "watch", "discussion"} <= organization_hook & repository_hook
    assert set(catalog.native_events()) == organization_hook | repository_hook


def test_a_new_event_or_action_upstream_appears_on_the_next_render(tmp_path: Path) -> None:
    """What `make specs` does when GitHub adds events: a copied schema folder with one more event and action."""
    folder = tmp_path / "api.github.com"
    shutil.copytree(SCHEMAS, folder)
    (folder / "sub_issues").mkdir()
    (folder / "sub_issues" / "parent_issue_added.schema.json").write_text(json.dumps({
        "type": "object", "required": ["action"], "description": "A parent issue was added.",
        "properties": {"action": {"type": "string", "enum": ["parent_issue_added"]}},
    }))
    shutil.copy(folder / "issues" / "opened.schema.json", folder / "issues" / "typed.schema.json")
    typed = json.loads((folder / "issues" / "typed.schema.json").read_text())
    typed["properties"]["action"]["enum"] = ["typed"]
    (folder / "issues" / "typed.schema.json").write_text(json.dumps(typed))
    out = tmp_path / "asyncapi.yaml"
    assert main(["--schemas", str(folder), "--out", str(out)]) == 0
    catalog = parse_catalog(yaml.safe_load(out.read_text()), source=out, solution="github")
    assert catalog.type_for("sub_issues", "parent_issue_added") == "subissues.parentissueadded.v1"
    assert catalog.type_for("issues", "typed") == "issues.typed.v1"
    assert len(catalog.events) == len(_schema_files()) + 2
    assert main(["--check", "--schemas", str(SCHEMAS), "--out", str(out)]) == 1


def test_bad_schema_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(github.SchemaFolderError, match="not a folder"):
        github.render(tmp_path / "missing")
    (tmp_path / "issues").mkdir()
    (tmp_path / "issues" / "opened.schema.json").write_text(json.dumps(
        {"type": "object", "properties": {"action": {"type": "string", "enum": ["closed"]}}}))
    with pytest.raises(github.SchemaFolderError, match=r"opened\.schema\.json: file name says action 'opened'"):
        github.render(tmp_path)
    (tmp_path / "issues" / "opened.schema.json").write_text("{not json")
    with pytest.raises(github.SchemaFolderError, match="cannot read"):
        github.render(tmp_path)
    assert main(["--schemas", str(tmp_path / "missing"), "--out", str(tmp_path / "x.yaml")]) == 2
