"""GitHub credentials: a token as is, or a GitHub App's private key -> JWT -> installation token.

Why App auth: it is the most-asked feature of peers (knative eventing-github #104/#626, argo-events #1372); an App
installation has its own rate-limit budget and needs no personal token. The flow (docs.github.com, "Authenticating as
a GitHub App installation"): sign a JWT with RS256, ``iss`` = the App id, ``iat`` 60 s in the past against clock
drift, ``exp`` at most 10 minutes after ``iat``; POST it to ``/app/installations/{id}/access_tokens``; use the
returned token (valid one hour) as a Bearer token. We exchange once per provider operation: a Pulumi operation lasts
seconds, so caching across operations would only add a way to use an expired token.
"""

from __future__ import annotations

from typing import Final

from kyma_connectors.hooks.errors import AuthenticationError, InvalidSpecError, NotFoundError, WebhookError
from kyma_connectors.hooks.spec import HookSpec
from kyma_connectors.hooks.transport import USER_AGENT, Clock, RetryPolicy, SystemClock, Transport, json_body

JWT_BACKDATE_S: Final[int] = 60
JWT_LIFETIME_S: Final[int] = 540
"""Nine minutes: under GitHub's 10-minute ceiling even with a minute of clock drift."""
API_VERSION: Final[str] = "2022-11-28"


def app_jwt(app_id: str, private_key: str, now: float) -> str:
    """The App's JWT. Raises :class:`InvalidSpecError` (never quoting the key) when the PEM is unusable."""
    import jwt  # imported here: only the App flow needs PyJWT + cryptography

    claims = {"iat": int(now) - JWT_BACKDATE_S, "exp": int(now) + JWT_LIFETIME_S, "iss": str(app_id)}
    try:
        return jwt.encode(claims, private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise InvalidSpecError.at("private_key", f"not a usable PEM RSA private key ({type(exc).__name__})") from None


def github_headers(token: str) -> dict[str, str]:
    """Headers GitHub asks every REST client to send (getting-started-with-the-rest-api)."""
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": USER_AGENT,
    }


def bearer_token(spec: HookSpec, *, policy: RetryPolicy | None = None, clock: Clock | None = None) -> str:
    """The token to call the hooks API with: the given token, or a fresh installation token."""
    if spec.token:
        return spec.token
    if not (spec.app_id and spec.installation_id and spec.private_key):
        raise InvalidSpecError.at("token", "give a token, or GitHub App credentials")
    clock = clock or SystemClock()
    assertion = app_jwt(spec.app_id, spec.private_key, clock.now())
    transport = Transport(spec.api_url, github_headers(assertion), policy=policy or RetryPolicy(), clock=clock)
    answer = transport.request("POST", f"/app/installations/{spec.installation_id}/access_tokens")
    body = json_body(answer)
    if answer.status_code == 201 and isinstance(body, dict) and isinstance(body.get("token"), str):
        return str(body["token"])
    message = str(body.get("message", ""))[:200] if isinstance(body, dict) else ""
    if answer.status_code == 401:
        raise AuthenticationError(
            f"GitHub rejected the App JWT (401 {message}): check app_id and that private_key belongs to that App",
            status=401,
        )
    if answer.status_code == 404:
        raise NotFoundError(
            f"installation {spec.installation_id} not found for App {spec.app_id}: check installation_id "
            "(Settings -> Installed GitHub Apps -> Configure shows it in the URL)",
            status=404,
        )
    raise WebhookError(
        f"installation token exchange failed: HTTP {answer.status_code} {message}", status=answer.status_code
    )
