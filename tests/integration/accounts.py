"""Open WebUI's sign-up and sign-in API, as the tests and benches call it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.integration.harness import Cluster


def signup(url: str, email: str, password: str, name: str = "Ajuda Admin") -> tuple[int, dict]:
    import requests

    response = requests.post(f"{url}/api/v1/auths/signup", json={"name": name, "email": email, "password": password},
                             timeout=60)
    try:
        body = response.json()
    except ValueError:
        body = {"text": response.text}
    return response.status_code, body


def signin(url: str, email: str, password: str) -> tuple[int, dict]:
    import requests

    response = requests.post(f"{url}/api/v1/auths/signin", json={"email": email, "password": password}, timeout=60)
    try:
        body = response.json()
    except ValueError:
        body = {"text": response.text}
    return response.status_code, body


def signin_admin(cluster: Cluster, replica: int = 0) -> tuple[int, dict]:
    """The operator's account, which the replicas create at start-up from WEBUI_ADMIN_EMAIL/PASSWORD."""
    return signin(cluster.replicas[replica].url, cluster.synthesized_env["WEBUI_ADMIN_EMAIL"],
                  cluster.credentials.admin_password)
