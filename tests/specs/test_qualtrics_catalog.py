"""The Qualtrics catalog: every documented event-subscription topic, each with its subscription form."""

from __future__ import annotations

import yaml

from kyma_connectors.core.catalog import derive_type, load_catalog
from tests.support.paths import SPECS

DOCUMENTED = {
    # topic without brand prefix -> subscription form (specs/qualtrics/asyncapi.yaml header cites the sources)
    "surveyengine.completedResponse": "survey",
    "surveyengine.partialResponse": "survey",
    "surveyengine.startedRecipientSession": "survey",
    "controlpanel.activateSurvey": "brand",
    "controlpanel.deactivateSurvey": "brand",
    "threesixty.created": "brand",
    "threesixty.nominationCreated": "brand",
    "threesixty.nominationRemoved": "brand",
}


def test_every_documented_topic_is_catalogued_with_its_subscription_form() -> None:
    document = yaml.safe_load((SPECS / "qualtrics" / "asyncapi.yaml").read_text(encoding="utf-8"))
    forms = {
        channel["subscribe"]["message"]["x-kyma-connectors"]["event"]:
            channel["subscribe"]["message"]["x-kyma-connectors"]["scope"]
        for channel in document["channels"].values()
    }
    assert forms == DOCUMENTED
    catalog = load_catalog("qualtrics")
    for entry in catalog.events:
        assert entry.type == derive_type(entry.event)
        if DOCUMENTED[entry.event] == "survey":
            # per-survey topics are `<topic>.{SurveyID}`: one wildcard subscription covers every survey
            assert entry.subscription == f"{entry.event}.*"
        else:
            assert entry.subscription is None
    assert catalog.subscriptions() == [
        "surveyengine.completedResponse.*", "surveyengine.partialResponse.*", "surveyengine.startedRecipientSession.*",
        "controlpanel.activateSurvey", "controlpanel.deactivateSurvey",
        "threesixty.created", "threesixty.nominationCreated", "threesixty.nominationRemoved",
    ]
