"""A real LTI 1.3 platform for the tests, on loopback HTTP in a thread of the test process.

It holds an RSA key and serves its JWKS (counting fetches), answers OIDC authentication requests by
signing an id_token (with the nonce the tool sent) and form-posting it with the state to the tool's
launch URL, shows a launch form for browsers, has an OAuth2 token endpoint (client_credentials with
a JWT client assertion verified against the TOOL's JWKS), and records AGS line items and scores; it
can be told to answer the next AGS calls with 429 or 500. Written with PyJWT and cryptography only:
nothing of the tool-side library (pylti1p3, django-lti) is used here.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LEARNER = [ROLE + "Learner"]
INSTRUCTOR = [ROLE + "Instructor"]
TEACHING_ASSISTANT = [ROLE + "Instructor", "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"]


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass
class LaunchSpec:
    """What the platform puts in the id_token of one launch (``login_hint`` names it)."""

    sub: str
    roles: list[str]
    name: str = ""
    email: str = ""
    context_id: str = "course-101"
    resource_link_id: str = "link-1"
    custom: dict[str, str] = field(default_factory=dict)
    message_type: str = "LtiResourceLinkRequest"
    overrides: dict[str, Any] = field(default_factory=dict)  # claims replaced (or added)
    drop: tuple[str, ...] = ()  # claims left out
    key: rsa.RSAPrivateKey | None = None  # sign with another key (a forged token)
    kid: str | None = None
    exp_in: int = 300
    deployment_id: str | None = None


class Platform:
    def __init__(self, host: str = "localhost") -> None:
        self.host = host
        self.key = new_key()
        self.kid = "platform-key-1"
        self.client_id = "dlcv-tool-" + uuid.uuid4().hex[:6]
        self.deployment_id = "deployment-1"
        self.launches: dict[str, LaunchSpec] = {}
        self.jwks_fetches = 0
        self.tool_jwks_url = ""
        self.tool_login_url = ""
        self.tool_launch_url = ""
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.scores: list[dict[str, Any]] = []  # accepted score posts
        self.ags_calls: list[tuple[str, str, int]] = []  # (method, path, status answered)
        self.inject: list[int] = []  # statuses to answer the next AGS calls with
        self.fail_rate = 0.0
        self.score_delay = 0.0  # seconds each score post takes to answer
        self.scores_in_flight = 0
        self.most_scores_in_flight = 0  # the most score posts answered at once
        self.score_clients: set[tuple[str, int]] = set()  # the connections score posts came over
        self.memberships: dict[str, list[dict[str, Any]]] = {}
        self.deep_link_responses: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- the server --------------------------------------------------------------------------------

    def start(self) -> Platform:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as LMSs answer: a tool's session posts its scores over one connection (under
            # HTTP/1.0 each post was a new connection and a new server thread). No Nagle: the headers and
            # the body are two writes, and the second would wait for the client's delayed ACK (40 ms).
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                platform._handle(self, "GET")

            def do_POST(self) -> None:
                platform._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def issuer(self) -> str:
        return self.url

    def registration_fields(self) -> dict[str, str]:
        return {"name": "Test LMS", "issuer": self.issuer, "client_id": self.client_id,
                "auth_url": self.url + "/auth", "token_url": self.url + "/token", "keyset_url": self.url + "/jwks",
                "deployment_ids": self.deployment_id}

    def public_jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        return {"keys": [jwk]}

    # -- id_tokens ---------------------------------------------------------------------------------

    def claims(self, spec: LaunchSpec, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.client_id, "sub": spec.sub, "iat": now, "exp": now + spec.exp_in,
            "nonce": nonce, "name": spec.name, "email": spec.email,
            LTI + "message_type": spec.message_type, LTI + "version": "1.3.0",
            LTI + "deployment_id": spec.deployment_id or self.deployment_id,
            LTI + "target_link_uri": self.tool_launch_url, LTI + "roles": spec.roles,
            LTI + "context": {"id": spec.context_id, "title": "DLCV", "type": [
                "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
            LTI + "resource_link": {"id": spec.resource_link_id, "title": "Activity"},
            LTI + "custom": spec.custom,
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                          "https://purl.imsglobal.org/spec/lti-ags/scope/score"],
                "lineitems": f"{self.url}/contexts/{spec.context_id}/lineitems"},
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/contexts/{spec.context_id}/memberships",
                "service_versions": ["2.0"]},
        }
        if spec.message_type == "LtiDeepLinkingRequest":
            claims.pop(LTI + "resource_link")
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": self.url + "/deep-link-return", "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["window"], "data": "opaque-1"}
        claims.update(spec.overrides)
        for name in spec.drop:
            claims.pop(name, None)
        return claims

    def id_token(self, spec: LaunchSpec, nonce: str) -> str:
        return jwt.encode(self.claims(spec, nonce), pem(spec.key or self.key), algorithm="RS256",
                          headers={"kid": spec.kid or self.kid})

    def prepare(self, spec: LaunchSpec) -> str:
        """Register a launch; its login_hint."""
        hint = "hint-" + uuid.uuid4().hex
        self.launches[hint] = spec
        return hint

    def login_params(self, hint: str) -> dict[str, str]:
        """The platform's third-party login initiation to the tool."""
        return {"iss": self.issuer, "login_hint": hint, "target_link_uri": self.tool_launch_url,
                "lti_message_hint": hint, "client_id": self.client_id,
                "lti_deployment_id": self.launches[hint].deployment_id or self.deployment_id}

    def authenticate(self, auth_url: str) -> dict[str, str]:
        """The tool's OIDC authentication request → the form post's fields (id_token, state) and action."""
        with urllib.request.urlopen(auth_url, timeout=10) as response:
            page = response.read().decode()
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        action = re.search(r'<form[^>]* action="([^"]+)"', page)
        assert action is not None, page
        return {**{k: html.unescape(v) for k, v in fields.items()}, "_action": html.unescape(action.group(1))}

    # -- requests ----------------------------------------------------------------------------------

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: Any, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _body(self, handler: BaseHTTPRequestHandler) -> bytes:
        """The request's body, read once (a kept-alive connection's next request starts after it)."""
        body: bytes | None = getattr(handler, "_platform_body", None)
        if body is None:
            length = int(handler.headers.get("Content-Length") or 0)
            body = handler.rfile.read(length) if length else b""
            handler._platform_body = body  # type: ignore[attr-defined]
        return body

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        handler._platform_body = None  # type: ignore[attr-defined]
        self._body(handler)  # even when the answer needs none of it (401, 404)
        parsed = urllib.parse.urlsplit(handler.path)
        path, query = parsed.path, dict(urllib.parse.parse_qsl(parsed.query))
        try:
            if path == "/jwks":
                with self.lock:
                    self.jwks_fetches += 1
                return self._send(handler, 200, self.public_jwks())
            if path == "/auth":
                return self._auth(handler, query)
            if path.startswith("/start/"):
                return self._start_page(handler, path.removeprefix("/start/"), framed=query.get("frame") == "1")
            if path == "/token" and method == "POST":
                return self._token(handler, dict(urllib.parse.parse_qsl(self._body(handler).decode())))
            if path == "/deep-link-return" and method == "POST":
                return self._deep_link_return(handler, dict(urllib.parse.parse_qsl(self._body(handler).decode())))
            if path.startswith("/contexts/"):
                return self._service(handler, method, path)
            return self._send(handler, 404, {"error": "not found"})
        except Exception as exc:  # a bug in the test platform: answer, and let the test see it
            return self._send(handler, 500, {"error": repr(exc)})

    def _start_page(self, handler: BaseHTTPRequestHandler, hint: str, *, framed: bool = False) -> None:
        """What an LMS shows a user: a button that starts the launch (a form to the tool's login URL).
        ``framed`` (``?frame=1``): the form posts into an iframe on this page, as Canvas and Moodle embed
        tools (the browser then sends ``Sec-Fetch-Dest: iframe`` with every load in it)."""
        inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in self.login_params(hint).items())
        target = ' target="tool-frame"' if framed else ""
        frame = ('<iframe name="tool-frame" title="Activity" style="width:100%;height:420px;border:1px solid #888">'
                 '</iframe>') if framed else ""
        page = (f'<!doctype html><html lang="en"><head><title>Test LMS</title>'
                f'<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
                f'<body style="margin:8px;font-family:sans-serif"><main>'
                f'<h1>Test LMS course</h1><form method="post" action="{html.escape(self.tool_login_url)}"{target}>'
                f'{inputs}<button type="submit">Open the activity</button></form>{frame}</main></body></html>')
        return self._send(handler, 200, page, "text/html; charset=utf-8")

    def _auth(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        spec = self.launches.get(query.get("login_hint", ""))
        checks = (spec is not None, query.get("client_id") == self.client_id, query.get("scope") == "openid",
                  query.get("response_type") == "id_token", query.get("response_mode") == "form_post",
                  query.get("redirect_uri", "").endswith("/lti/launch/"), bool(query.get("nonce")))
        if not all(checks):
            return self._send(handler, 400, {"error": "invalid_request", "checks": checks})
        assert spec is not None
        token = self.id_token(spec, query["nonce"])
        page = (f'<!doctype html><html lang="en"><head><title>Launching</title></head><body>'
                f'<form method="post" action="{html.escape(query["redirect_uri"])}" id="f">'
                f'<input type="hidden" name="id_token" value="{token}">'
                f'<input type="hidden" name="state" value="{html.escape(query.get("state", ""))}">'
                f'<button type="submit">Continue</button></form>'
                f'<script>document.getElementById("f").submit()</script></body></html>')
        return self._send(handler, 200, page, "text/html; charset=utf-8")

    def _token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        """client_credentials with a JWT assertion signed by the tool: verified against the tool's JWKS."""
        with self.lock:
            self.token_requests += 1
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != (
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"):
            return self._send(handler, 400, {"error": "unsupported_grant_type"})
        assertion = form.get("client_assertion", "")
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
            with urllib.request.urlopen(self.tool_jwks_url, timeout=10) as response:
                keys = json.loads(response.read())["keys"]
            jwk = next(k for k in keys if k.get("kid") == kid)
            claims = jwt.decode(assertion, RSAAlgorithm.from_jwk(json.dumps(jwk)), algorithms=["RS256"],
                                audience=self.url + "/token")
            assert claims["iss"] == claims["sub"] == self.client_id
        except Exception as exc:
            return self._send(handler, 401, {"error": "invalid_client", "detail": repr(exc)})
        token = uuid.uuid4().hex
        with self.lock:
            self.tokens.add(token)
        return self._send(handler, 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                                         "scope": form.get("scope", "")})

    def _tool_key(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        with urllib.request.urlopen(self.tool_jwks_url, timeout=10) as response:
            keys = json.loads(response.read())["keys"]
        return RSAAlgorithm.from_jwk(json.dumps(next(k for k in keys if k.get("kid") == kid)))

    def _deep_link_return(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        """The tool's LtiDeepLinkingResponse: signed by the tool (its JWKS), for us, of our deployment."""
        token = form.get("JWT", "")
        try:
            claims = jwt.decode(token, self._tool_key(token), algorithms=["RS256"], audience=self.issuer,
                                issuer=self.client_id)
            assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
            assert claims[LTI + "deployment_id"] == self.deployment_id
            assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-1"
        except Exception as exc:
            return self._send(handler, 400, {"error": repr(exc)})
        with self.lock:
            self.deep_link_responses.append(claims)
        return self._send(handler, 200, '<!doctype html><html lang="en"><head><title>Linked</title></head>'
                                        '<body><main><h1>Linked in the LMS</h1></main></body></html>',
                          "text/html; charset=utf-8")

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        header = handler.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header.removeprefix("Bearer ") in self.tokens

    def _service(self, handler: BaseHTTPRequestHandler, method: str, path: str) -> None:
        if not self._authorized(handler):
            return self._send(handler, 401, {"error": "unauthorized"})
        parts = path.strip("/").split("/")  # contexts/<id>/...
        context_id = parts[1]
        if parts[2:] == ["memberships"]:
            return self._send(handler, 200, {"id": path, "context": {"id": context_id},
                                             "members": self.memberships.get(context_id, [])},
                              "application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
        body = self._body(handler)
        with self.lock:
            status = self.inject.pop(0) if self.inject else 0
            random_failure = not status and self.fail_rate and path.endswith("/scores") and _chance(self.fail_rate)
            if random_failure:
                status = 503
        if status:
            with self.lock:
                self.ags_calls.append((method, path, status))
            # Injected answers say when to come back (at once); random 5xx say nothing: the tool backs off.
            return self._send(handler, status, {"error": "injected"},
                              headers={} if random_failure else {"Retry-After": "0"})
        if parts[2:] == ["lineitems"] and method == "POST":
            data = json.loads(body)
            item_id = uuid.uuid4().hex[:8]
            url = f"{self.url}/contexts/{context_id}/lineitems/{item_id}"
            with self.lock:
                self.lineitems[url] = {**data, "id": url}
                self.ags_calls.append((method, path, 201))
            return self._send(handler, 201, self.lineitems[url], "application/vnd.ims.lis.v2.lineitem+json")
        if parts[2:] == ["lineitems"] and method == "GET":
            with self.lock:
                self.ags_calls.append((method, path, 200))
                items = [i for u, i in self.lineitems.items() if f"/contexts/{context_id}/" in u]
            return self._send(handler, 200, items, "application/vnd.ims.lis.v2.lineitemcontainer+json")
        if len(parts) == 5 and parts[2] == "lineitems" and parts[4] == "scores" and method == "POST":
            data = json.loads(body)
            url = f"{self.url}/contexts/{context_id}/lineitems/{parts[3]}"
            with self.lock:
                self.score_clients.add(handler.client_address[:2])
                self.scores_in_flight += 1
                self.most_scores_in_flight = max(self.most_scores_in_flight, self.scores_in_flight)
            time.sleep(self.score_delay)
            with self.lock:
                self.scores_in_flight -= 1
            with self.lock:
                self.ags_calls.append((method, path, 200))
                if url not in self.lineitems:
                    return self._send(handler, 404, {"error": "no such line item"})
                self.scores.append({**data, "lineitem": url})
            return self._send(handler, 200, {})
        return self._send(handler, 404, {"error": "not found"})


_rng_lock = threading.Lock()


def _chance(rate: float) -> bool:
    import random

    with _rng_lock:
        return random.random() < rate
