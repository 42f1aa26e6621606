"""The first person to sign in does not own the site: the operator's account exists before any sign-up.

Runs first in the tier (file name), so nothing has signed up yet. Prod's synthesized settings
(WEBUI_ADMIN_EMAIL, the generated WEBUI_ADMIN_PASSWORD secret, ENABLE_SIGNUP=false, Google with
OAUTH_ALLOWED_DOMAINS, DEFAULT_USER_ROLE=pending) reach the two replicas unchanged; Google itself is
the stand-in of tests/integration/google_stand_in.py, reached at Google's own host names.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.integration import accounts


def _users(cluster) -> list[tuple[str, str]]:
    with cluster.superuser(cluster.access.database) as cur:
        cur.execute(f'SELECT email, role FROM {cluster.access.schema}."user" ORDER BY created_at')
        return [tuple(row) for row in cur.fetchall()]


def _google_sign_in(cluster, email: str) -> requests.Response:
    """Login on replica 1, Google's consent as ``email``, the callback on replica 2 (any task finishes a login)."""
    browser = requests.Session()
    login = browser.get(f"{cluster.replicas[0].url}/oauth/google/login", allow_redirects=False, timeout=60)
    assert login.status_code in (302, 307), (login.status_code, login.text[:500], cluster.replicas[0].log_tail())
    back = urlsplit(cluster.google.sign_in(login.headers["location"], email))
    assert f"{back.scheme}://{back.netloc}{back.path}" == cluster.replacement_values()["GOOGLE_REDIRECT_URI"]
    return browser.get(f"{cluster.replicas[1].url}{back.path}?{back.query}", allow_redirects=False, timeout=60)


@pytest.fixture(scope="module")
def allowed_domain(cluster) -> str:
    domains = cluster.synthesized_env["OAUTH_ALLOWED_DOMAINS"].split(",")
    assert "*" not in domains, "prod names its Google domains"
    return domains[0]


def test_the_operator_is_the_only_user_and_the_admin_before_any_sign_up(cluster):
    assert _users(cluster) == [(cluster.synthesized_env["WEBUI_ADMIN_EMAIL"], "admin")]
    # Both replicas booted at once on the empty database; exactly one created the account.
    created = [r.name for r in cluster.replicas if "Admin account created successfully" in r.log_text(0)]
    assert len(created) == 1, created
    # Its password is the generated secret, resolved from Secrets Manager like the others.
    for index in range(len(cluster.replicas)):
        status, body = accounts.signin_admin(cluster, replica=index)
        assert status == 200 and body["role"] == "admin", body


def test_the_first_password_sign_up_is_refused_and_no_admin(cluster):
    for replica in cluster.replicas:
        status, body = accounts.signup(replica.url, f"first-{replica.name}@ajudadigital.tl", "F1rst(pass)$+:%#")
        assert status == 403, (replica.name, body)
    assert [role for _, role in _users(cluster)] == ["admin"]


def test_the_first_google_sign_in_after_it_is_pending(cluster, allowed_domain):
    email = f"first.google@{allowed_domain}"
    callback = _google_sign_in(cluster, email)
    location = urlsplit(callback.headers.get("location", ""))
    assert callback.status_code in (302, 307) and location.path == "/auth", (callback.status_code, location)
    assert "error" not in parse_qs(location.query) and callback.cookies.get("token"), callback.headers
    assert (email, "pending") in _users(cluster)
    assert [role for _, role in _users(cluster)].count("admin") == 1
    # The real exchange happened with Google's endpoints: discovery, keys, and the code for tokens
    # with the client secret from Secrets Manager (the stand-in refuses any other).
    served = cluster.google.requests
    assert "GET accounts.google.com/.well-known/openid-configuration" in served
    assert "POST oauth2.googleapis.com/token" in served and "GET www.googleapis.com/oauth2/v3/certs" in served


def test_a_google_account_outside_the_allowed_domains_is_refused(cluster, allowed_domain):
    email = "outsider@gmail.example"
    assert not email.endswith("@" + allowed_domain)
    callback = _google_sign_in(cluster, email)
    location = callback.headers.get("location", "")
    assert callback.status_code in (302, 307) and "error" in parse_qs(urlsplit(location).query), location
    assert email not in [e for e, _ in _users(cluster)]
    assert "e-mail domain is not in the list of allowed domains" in cluster.replicas[1].log_text()


def test_google_was_reached_only_through_the_stand_in(cluster):
    assert cluster.egress.attempts == []
    assert cluster.egress.tunnelled and all(t.startswith("CONNECT ") for t in cluster.egress.tunnelled)
