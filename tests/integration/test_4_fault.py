"""A replica stops (as ECS stops a task); the other keeps serving; the restarted one rejoins without migrating."""

from __future__ import annotations

import requests

from tests.integration import processes


def test_replica_1_stops_replica_2_serves_replica_1_rejoins_without_migrating(cluster, admin, uploaded_file):
    replica1, replica2 = cluster.replicas
    headers = {"Authorization": f"Bearer {admin['token']}"}
    versions_before = cluster.alembic_version()

    code = replica1.stop()  # SIGTERM to the group, SIGKILL after the task's stopTimeout
    assert not replica1.running and code is not None
    assert processes.http_status(replica1.url + "/health") == 0, "replica 1 still answers after stop"

    # The same user and their file, through the survivor.
    me = requests.get(f"{replica2.url}/api/v1/auths/", headers=headers, timeout=30)
    assert me.status_code == 200 and me.json()["id"] == admin["id"]
    content = requests.get(f"{replica2.url}/api/v1/files/{uploaded_file['id']}/content", headers=headers, timeout=30)
    assert content.status_code == 200 and content.content == uploaded_file["bytes"]
    assert processes.http_status(replica2.url + "/ready") == 200

    seconds = cluster.restart(replica1)  # same task definition, same port
    print(f"\n[integration] replica 1 ready again after {seconds:.1f}s")
    assert processes.http_status(replica1.url + "/ready") == 200
    me = requests.get(f"{replica1.url}/api/v1/auths/", headers=headers, timeout=30)
    assert me.status_code == 200 and me.json()["id"] == admin["id"]
    log = replica1.log_text()
    assert "Running migrations" not in log and "Running upgrade" not in log
    assert cluster.alembic_version() == versions_before
