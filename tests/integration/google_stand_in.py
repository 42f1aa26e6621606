"""A stand-in for Google's OpenID Connect endpoints, reached at Google's own host names.

Open WebUI 0.12.4 hard-codes Google's discovery document (config.py:2755,
``server_metadata_url='https://accounts.google.com/.well-known/openid-configuration'``), and the
authorization, token and key endpoints come from that document: no setting points the Google client
elsewhere. Pointing a generic OIDC provider (OPENID_PROVIDER_URL) at a local server instead would
test a different provider, not the synthesized Google one. So the harness replaces the network, not
the configuration: the replicas already send every HTTPS request through the harness's egress proxy
(HTTPS_PROXY), and for Google's host names that proxy tunnels the CONNECT to this TLS server, whose
certificate is issued for those names by a test CA the replicas trust (SSL_CERT_FILE, the platform's
trust store stand-in; httpx, which authlib uses, reads it). Everything the app does with Google is
then exactly what it does in production: discovery, the authorization redirect with state and
nonce, the code exchange with the client secret from Secrets Manager, and the RS256 ID token checked
against the published keys.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ISSUER = "https://accounts.google.com"
# Google's discovery document names these hosts (https://accounts.google.com/.well-known/openid-configuration).
HOSTS = ("accounts.google.com", "oauth2.googleapis.com", "openidconnect.googleapis.com", "www.googleapis.com")
METADATA = {
    "issuer": ISSUER,
    "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
    "token_endpoint": "https://oauth2.googleapis.com/token",
    "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
    "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
    "response_types_supported": ["code"],
    "subject_types_supported": ["public"],
    "id_token_signing_alg_values_supported": ["RS256"],
    "scopes_supported": ["openid", "email", "profile"],
    "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
    "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "name", "sub"],
    "code_challenge_methods_supported": ["plain", "S256"],
}
KEY_ID = "ajuda-integration-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(number: int) -> str:
    return _b64(number.to_bytes((number.bit_length() + 7) // 8, "big"))


@dataclass
class _Grant:
    email: str
    name: str
    nonce: str
    client_id: str
    redirect_uri: str
    sub: str = field(default_factory=lambda: str(secrets.randbits(64)))


class GoogleStandIn:
    """TLS server for HOSTS on 127.0.0.1; ``ca_file`` is the CA the replicas must trust."""

    def __init__(self, workdir: Path, client_id: str, client_secret: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.client_id = client_id
        self.client_secret = client_secret
        self.grants: dict[str, _Grant] = {}
        self.requests: list[str] = []  # "METHOD host/path" of every request served
        self.token_requests = 0
        now = datetime.datetime.now(datetime.UTC)

        def certificate(subject: str, key, issuer_name, issuer_key, ca: bool, names=()):
            builder = (x509.CertificateBuilder()
                       .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                       .issuer_name(issuer_name).public_key(key.public_key())
                       .serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(minutes=5))
                       .not_valid_after(now + datetime.timedelta(days=1))
                       .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
            if names:
                builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                                                critical=False)
            return builder.sign(issuer_key, hashes.SHA256())

        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ajuda integration test CA")])
        ca_cert = certificate("Ajuda integration test CA", ca_key, ca_name, ca_key, ca=True)
        server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        server_cert = certificate(HOSTS[0], server_key, ca_name, ca_key, ca=False, names=HOSTS)
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        workdir.mkdir(parents=True, exist_ok=True)
        self.ca_file = workdir / "google-stand-in-ca.pem"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        cert_file, key_file = workdir / "google-stand-in.pem", workdir / "google-stand-in.key"
        cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)

        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                stand_in.requests.append(f"GET {self.headers.get('Host')}{path}")
                if path == "/.well-known/openid-configuration":
                    self._answer(200, METADATA)
                elif path == "/oauth2/v3/certs":
                    self._answer(200, {"keys": [stand_in.jwk()]})
                else:
                    self._answer(404, {"error": "not_found"})

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                stand_in.requests.append(f"POST {self.headers.get('Host')}{path}")
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if path != "/token":
                    return self._answer(404, {"error": "not_found"})
                status, body = stand_in.exchange(form, self.headers.get("Authorization", ""))
                self._answer(status, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="google-stand-in", daemon=True)

    def start(self) -> GoogleStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- the provider ------------------------------------------------------------------------------

    def jwk(self) -> dict:
        numbers = self.signing_key.public_key().public_numbers()
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KEY_ID,
                "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}

    def sign_in(self, authorization_url: str, email: str, name: str = "Google User") -> str:
        """What Google does when ``email`` signs in at ``authorization_url``: the redirect back, with a code."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        assert authorization_url.startswith(METADATA["authorization_endpoint"] + "?"), authorization_url
        assert query["client_id"] == self.client_id and query["response_type"] == "code", query
        code = secrets.token_urlsafe(24)
        self.grants[code] = _Grant(email=email, name=name, nonce=query.get("nonce", ""),
                                   client_id=query["client_id"], redirect_uri=query["redirect_uri"])
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def _client_authenticated(self, form: dict, authorization: str) -> bool:
        if authorization.startswith("Basic "):
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            from urllib.parse import unquote_plus
            return unquote_plus(user) == self.client_id and unquote_plus(password) == self.client_secret
        return form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret

    def exchange(self, form: dict, authorization: str) -> tuple[int, dict]:
        self.token_requests += 1
        if not self._client_authenticated(form, authorization):
            return 401, {"error": "invalid_client"}
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant"}
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": grant.client_id, "sub": grant.sub, "email": grant.email,
                  "email_verified": True, "name": grant.name, "iat": now, "exp": now + 3600}
        if grant.nonce:
            claims["nonce"] = grant.nonce
        return 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 3599,
                     "scope": "openid email profile", "id_token": self._id_token(claims)}

    def _id_token(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.signing_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"
