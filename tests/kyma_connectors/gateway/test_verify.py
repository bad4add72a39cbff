"""Signature checks against the published known-answer vectors, and their failure modes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from kyma_connectors.gateway.errors import SignatureError
from kyma_connectors.gateway.settings import Secret
from kyma_connectors.gateway.verify import (
    verify_basic,
    verify_bearer,
    verify_prefixed_hmac_sha256,
    verify_qualtrics_hmac,
)
from tests.support.paths import GITHUB

QUALTRICS_KEY = "kyma4ever"
QUALTRICS_MSG = (
    '{"Status":"Complete","SurveyID":"SV_1AmkKSDmoZ4XlQx","ResponseID":"R_0B7IcnXszjEUHLP",'
    '"CompletedDate":"2019-06-25 07:58:25","BrandID":"sapdevelopment"}'
)


def test_github_known_answer_vector() -> None:
    """GitHub docs' vector (../shared/github/signature-test-vectors.json) verifies; one flipped bit does not."""
    vectors = json.loads((GITHUB / "signature-test-vectors.json").read_text())["vectors"]
    for vector in vectors:
        body = vector["payload"].encode()
        secrets = [Secret("other"), Secret(vector["secret"])]
        verify_prefixed_hmac_sha256(body, vector["x_hub_signature_256"], secrets, prefix="sha256=")
        with pytest.raises(SignatureError):
            verify_prefixed_hmac_sha256(body + b" ", vector["x_hub_signature_256"], secrets, prefix="sha256=")


@pytest.mark.parametrize(
    ("header", "reason"),
    [(None, "missing"), ("sha1=abc", "must start"), ("sha256=zz", "malformed"), ("sha256=" + "0" * 64, "match")],
)
def test_github_bad_signatures(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason) as info:
        verify_prefixed_hmac_sha256(b"{}", header, [Secret("s3cret")], prefix="sha256=")
    assert "s3cret" not in str(info.value)


def test_qualtrics_vector_from_connector_tools() -> None:
    """HMAC-SHA512 over the MSG field (vector in ../shared/docs/github-qualtrics.md section 5)."""
    digest = hmac.new(QUALTRICS_KEY.encode(), QUALTRICS_MSG.encode(), hashlib.sha512).hexdigest()
    assert digest.startswith("c2c585a4")
    assert digest.endswith("e5c598")
    verify_qualtrics_hmac(QUALTRICS_MSG, digest.upper(), [Secret(QUALTRICS_KEY)])
    with pytest.raises(SignatureError):
        verify_qualtrics_hmac(QUALTRICS_MSG, digest, [Secret("wrong")])
    with pytest.raises(SignatureError, match="missing"):
        verify_qualtrics_hmac(QUALTRICS_MSG, None, [Secret(QUALTRICS_KEY)])


def test_bearer_and_basic_credentials() -> None:
    verify_bearer("Bearer tok-2", [Secret("tok-1"), Secret("tok-2")])
    with pytest.raises(SignatureError):
        verify_bearer("Bearer nope", [Secret("tok-1")])
    with pytest.raises(SignatureError):
        verify_bearer(None, [Secret("tok-1")])
    good = "Basic " + base64.b64encode(b"svc:pw").decode()
    verify_basic(good, [Secret("svc:pw")])
    with pytest.raises(SignatureError):
        verify_basic("Basic !!!", [Secret("svc:pw")])
    with pytest.raises(SignatureError):
        verify_basic("Basic " + base64.b64encode(b"svc:other").decode(), [Secret("svc:pw")])
