"""HTTP front of the GitHub double: auth, headers, contract checks, fault injection, the admin API.

Every API request is routed and validated by :class:`~doubles.github.contract.Contract`; a request that breaks the
contract is answered the way GitHub answers bad input (400/422) *and* recorded in ``World.violations``, and an
answer of ours that would break it is recorded too and turned into a 500 -- tests assert the list stays empty.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import jwt

from devtools.doubles.github import admin
from devtools.doubles.github.api import HANDLERS, Call, Reply, error, not_found
from devtools.doubles.github.contract import Contract, ContractViolation
from devtools.doubles.github.state import FULL_SCOPES, World, rate_headers

GHES_PREFIX: Final[str] = "/api/v3"
API_VERSIONS: Final[frozenset[str]] = frozenset({"2022-11-28", "2026-03-10"})
MAX_JWT_LIFETIME_S: Final[int] = 600
"""GitHub rejects App JWTs whose ``exp`` is more than 10 minutes after ``iat``."""


class Handler(BaseHTTPRequestHandler):
    """One request; ``self.server`` is a :class:`DoubleServer`."""

    server: DoubleServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; ``World.requests`` keeps what tests need."""

    def do_GET(self) -> None:
        self.handle_any("GET")

    def do_POST(self) -> None:
        self.handle_any("POST")

    def do_PATCH(self) -> None:
        self.handle_any("PATCH")

    def do_DELETE(self) -> None:
        self.handle_any("DELETE")

    def do_PUT(self) -> None:
        self.handle_any("PUT")

    def handle_any(self, method: str) -> None:
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self.send(Reply(400, {"message": "Problems parsing JSON", "documentation_url": "", "status": "400"}))
            return
        path = parts.path
        if path.startswith("/_admin/"):
            self.send(admin.handle(self.server.world, method, path, body), rate=False)
            return
        base = self.server.url
        if path.startswith(GHES_PREFIX + "/"):
            path, base = path[len(GHES_PREFIX) :], base + GHES_PREFIX
        reply, headers = self.api(method, path, dict(parse_qsl(parts.query)), body, bool(raw), base)
        with self.server.world.lock:
            self.server.world.requests.append({"method": method, "path": path, "status": reply.status})
        reply.headers = {**headers, **reply.headers}
        self.send(reply)

    def api(
        self, method: str, path: str, query: dict[str, str], body: Any, has_body: bool, base: str
    ) -> tuple[Reply, dict[str, str]]:
        world = self.server.world
        if not self.headers.get("User-Agent"):
            return error(
                403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"
            ), {}
        version = self.headers.get("X-GitHub-Api-Version")
        if version and version not in API_VERSIONS:
            return error(400, f"API version {version} is not supported."), {}
        if method == "POST" and path.startswith("/app/installations/") and path.endswith("/access_tokens"):
            return self.installation_token(path.split("/")[3]), {}
        token = self.bearer()
        if token is None:
            return error(401, "Requires authentication"), {}
        scopes = world.tokens.get(token)
        if scopes is None:
            return error(401, "Bad credentials"), {}
        limits = world.spend(token)
        if world.used[token] > world.rate_limit:  # primary limit spent: 403 until the window resets
            return error(403, f"API rate limit exceeded for token ...{token[-4:]}."), limits
        fault = world.take_fault(method, path)
        try:
            match = self.server.contract.route(method, path)
        except ContractViolation as exc:  # e.g. a non-integer hook id: GitHub answers 404, we also record it
            with world.lock:
                world.violations.append(f"request: {exc}")
            return not_found(), limits
        if match is None:
            return not_found(), limits
        if fault is not None:
            if fault.exhaust_rate_limit:
                limits = rate_headers(world.rate_limit, 0, world.rate_limit, int(time.time()) + fault.reset_in)
            reply = Reply(fault.status, fault.body, dict(fault.headers))
        else:
            reply = self.operation(match, method, path, query, body, has_body, base, scopes)
        return self.checked(match, reply, limits), limits

    def operation(
        self,
        match: Any,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        has_body: bool,
        base: str,
        scopes: frozenset[str],
    ) -> Reply:
        world = self.server.world
        try:
            typed_query = self.server.contract.check_request(match, query, body, has_body)
        except ContractViolation as exc:
            with world.lock:
                world.violations.append(f"request: {exc}")
            status = 400 if "parameter" in str(exc) else 422
            return Reply(status, {"message": f"Invalid request: {exc}", "documentation_url": "", "status": str(status)})
        kind, name = match.operation.operation_id.split("/", 1)
        needed = "admin:org_hook" if kind == "orgs" else None
        if needed and needed not in scopes:
            return not_found()  # GitHub hides org hooks from tokens without admin:org_hook behind a 404
        if kind == "repos" and not scopes & {"repo", "admin:repo_hook", "write:repo_hook", "read:repo_hook"}:
            return not_found()
        params = match.params
        target = f"{params['owner']}/{params['repo']}" if kind == "repos" else str(params["org"])
        call = Call(method, kind, target, params, typed_query, body, base, path)
        return HANDLERS[name](world, call)

    def checked(self, match: Any, reply: Reply, limits: dict[str, str]) -> Reply:
        try:
            self.server.contract.check_response(match, reply.status, {**limits, **reply.headers}, reply.body)
        except ContractViolation as exc:
            with self.server.world.lock:
                self.server.world.violations.append(f"response: {exc}")
            return error(500, "double answered outside its contract (see /_admin/violations)")
        return reply

    def bearer(self) -> str | None:
        value = self.headers.get("Authorization", "")
        for scheme in ("Bearer ", "token "):
            if value.startswith(scheme):
                return value[len(scheme) :].strip()
        return None

    def installation_token(self, installation_id: str) -> Reply:
        """``POST /app/installations/{id}/access_tokens`` with an App JWT (RS256, iss = app id, exp <= iat+10 min).

        Outside the hooks subset, so it is checked here by hand against the documented behaviour
        (docs.github.com "Authenticating as a GitHub App installation").
        """
        world = self.server.world
        assertion = self.bearer()
        if assertion is None:
            return error(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
            key = world.apps.get(str(claims.get("iss")))
            if key is None:
                return error(401, "Integration not found")
            claims = jwt.decode(assertion, key, algorithms=["RS256"], leeway=60, options={"require": ["iat", "exp"]})
        except jwt.PyJWTError as exc:
            return error(401, f"A JSON web token could not be decoded: {type(exc).__name__}")
        if int(claims["exp"]) - int(claims["iat"]) > MAX_JWT_LIFETIME_S + 60:
            return error(401, "'Expiration time' claim ('exp') is too far in the future")
        if world.installations.get(installation_id) != str(claims["iss"]):
            return not_found()
        token = "ghs_" + secrets.token_hex(16)
        world.add_token(token, FULL_SCOPES)
        expires = datetime.fromtimestamp(time.time() + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Reply(
            201,
            {
                "token": token,
                "expires_at": expires,
                "repository_selection": "all",
                "permissions": {"repository_hooks": "write", "organization_hooks": "write"},
            },
        )

    def send(self, reply: Reply, *, rate: bool = True) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        headers = dict(reply.headers)
        if rate and not any(h.lower() == "x-ratelimit-limit" for h in headers):
            headers.update(
                rate_headers(
                    self.server.world.rate_limit, self.server.world.rate_limit, 0, self.server.world.window_reset
                )
            )
        if reply.body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        headers["Content-Length"] = str(len(payload))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class DoubleServer(ThreadingHTTPServer):
    """The HTTP server, carrying the world and the contract for its handlers."""

    daemon_threads = True

    def __init__(self, port: int, world: World, contract: Contract) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.world = world
        self.contract = contract
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class GitHubDouble:
    """A running double: ``with GitHubDouble() as gh: gh.url ...``; ``gh.world`` is its state."""

    def __init__(
        self, port: int = 0, *, contract: Contract | None = None, tokens: tuple[str, ...] = (), rate_limit: int = 5000
    ) -> None:
        self.world = World(rate_limit=rate_limit)
        for token in tokens:
            self.world.add_token(token)
        self.server = DoubleServer(port, self.world, contract or Contract.load())
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="github-double", daemon=True
        )

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> GitHubDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> GitHubDouble:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
