"""The integration tier: the REAL Open WebUI 0.12.4, booted as ECS would from the synthesized prod task.

One set of servers for the whole tier (session scope): PostgreSQL+pgvector, Redis with AUTH, moto,
the migration task, then two replicas. Everything is stopped in the finalizer, pass or fail, and
the finalizer fails the run if anything it started still listens.

Needs `bash scripts/integration-env.sh` first. Missing pieces skip the tier, except with CI=true,
where they fail it.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import pytest

from config.environments import PROD
from tests.integration import accounts, env_contract, harness, processes

# The operator's account (auth.admin_email), which Open WebUI creates at start-up with the password
# the harness stores in Secrets Manager's place.
ADMIN_EMAIL = PROD.auth.admin_email
ADMIN_PASSWORD = env_contract.ADMIN_PASSWORD
UPLOAD_NAME = "ajuda-integration.txt"
UPLOAD_BYTES = ("Ajuda Digital integration upload " + uuid.uuid4().hex + "\n"
                "Open WebUI stores this file in S3 and indexes it in pgvector.\n").encode()


@pytest.fixture(scope="session")
def integration_requirements() -> None:
    missing = processes.missing_requirements()
    if missing:
        message = "integration tier requirements missing:\n  " + "\n  ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and " + message)
        pytest.skip(message)


def _terminate_as_interrupt(signum, frame):
    # A CI timeout sends SIGTERM: turn it into an interrupt so the finalizer below still runs.
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def cluster(integration_requirements, synthesized, tmp_path_factory) -> Iterator[harness.Cluster]:
    previous_handler = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    workdir = tmp_path_factory.mktemp("integration")
    cluster = harness.Cluster(synthesized, workdir, replicas=2)
    try:
        started = time.monotonic()
        cluster.start()
        print(f"\n[integration] cluster up in {time.monotonic() - started:.1f}s {cluster.timings} (logs: {workdir})")
        yield cluster
    finally:
        ports = [s.port for s in (cluster.postgres, cluster.redis, cluster.moto, cluster.egress) if s is not None]
        ports += [r.port for r in cluster.replicas]
        started_processes = [r.process for r in cluster.replicas if r.process is not None]
        if cluster.gateway is not None and cluster.gateway.process is not None:
            ports += [cluster.gateway.process.port, cluster.gateway.bedrock.port]
            started_processes.append(cluster.gateway.process.process)
        try:
            cluster.stop()
        finally:
            signal.signal(signal.SIGTERM, previous_handler)
        still_running = [p.pid for p in started_processes if p.poll() is None]
        still_listening = processes.listening_ports(ports)
        assert not still_running, f"replica processes still running after stop: {still_running}"
        assert not still_listening, f"ports still listening after stop: {still_listening}"


@pytest.fixture(scope="session")
def admin(cluster) -> dict:
    """The operator, signed in through replica 1: the account the replicas created at start-up."""
    assert cluster.synthesized_env["WEBUI_ADMIN_EMAIL"] == ADMIN_EMAIL
    status, body = accounts.signin_admin(cluster)
    assert status == 200, body
    return body


@pytest.fixture(scope="session")
def uploaded_file(cluster, admin) -> dict:
    """A file uploaded through replica 2, after its processing (embedding into pgvector) finished."""
    import requests

    replica = cluster.replicas[1]
    headers = {"Authorization": f"Bearer {admin['token']}"}
    response = requests.post(f"{replica.url}/api/v1/files/", headers=headers,
                             files={"file": (UPLOAD_NAME, UPLOAD_BYTES, "text/plain")}, timeout=60)
    assert response.status_code == 200, response.text
    item = response.json()
    deadline = time.monotonic() + 120
    status = "pending"
    while time.monotonic() < deadline:
        status = requests.get(f"{replica.url}/api/v1/files/{item['id']}/process/status", headers=headers,
                              timeout=30).json().get("status")
        if status in ("completed", "failed"):
            break
        time.sleep(0.5)
    final = requests.get(f"{replica.url}/api/v1/files/{item['id']}", headers=headers, timeout=30).json()
    # The embedding calls the gateway made for this upload, taken now: later tests reset the stand-in's record.
    marker = UPLOAD_BYTES.decode().split()[4]  # the upload's unique hex token
    embedded = [r for r in cluster.gateway.bedrock.recorded("InvokeModel", accepted=True)
                if marker in r.body.get("inputText", "")]
    return {"id": item["id"], "upload": item, "status": status, "file": final, "bytes": UPLOAD_BYTES,
            "marker": marker, "gateway_embeddings": embedded}
