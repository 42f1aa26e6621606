"""Two replicas share one database, Redis and bucket: a user, a session and a file cross between them."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from tests.integration import accounts, processes
from tests.integration.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, UPLOAD_NAME


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", ["/health", "/health/db", "/ready"])
def test_both_replicas_are_healthy(cluster, path):
    for replica in cluster.replicas:
        assert processes.http_status(replica.url + path) == 200, f"{replica.name} {path}\n{replica.log_tail()}"


def test_every_replica_publishes_the_synthesized_site_settings(cluster, admin):
    """/api/config (what the login page reads) shows the prod settings took effect on each replica."""
    for replica in cluster.replicas:
        body = requests.get(f"{replica.url}/api/config", timeout=30).json()
        assert body["name"].startswith(cluster.synthesized_env["WEBUI_NAME"]), body["name"]
        assert "google" in body["oauth"]["providers"], body["oauth"]  # GOOGLE_CLIENT_ID + secret
        features = body["features"]
        assert features["enable_signup"] is False and features["enable_login_form"] is True
        assert features["enable_websocket"] is True and "onboarding" not in body


def test_first_signup_is_the_admin_and_signup_then_stays_closed(cluster, admin):
    assert admin["role"] == "admin" and admin["email"] == ADMIN_EMAIL
    # ENABLE_SIGNUP=false (prod) applies from the second user on, on every replica.
    for replica in cluster.replicas:
        status, body = accounts.signup(replica.url, f"someone-{replica.name}@example.org", "An0ther(pass)")
        assert status == 403, (replica.name, body)


def test_a_session_from_replica_1_is_accepted_by_replica_2(cluster, admin):
    replica2 = cluster.replicas[1]
    response = requests.get(f"{replica2.url}/api/v1/auths/", headers=_auth(admin["token"]), timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == admin["id"] and response.json()["role"] == "admin"
    assert requests.get(f"{replica2.url}/api/v1/auths/", timeout=30).status_code == 401
    forged = admin["token"][:-4] + ("AAAA" if not admin["token"].endswith("AAAA") else "BBBB")
    assert requests.get(f"{replica2.url}/api/v1/auths/", headers=_auth(forged), timeout=30).status_code == 401


def test_password_sign_in_works_on_the_other_replica(cluster, admin):
    response = requests.post(f"{cluster.replicas[1].url}/api/v1/auths/signin",
                             json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == admin["id"]


def test_a_file_uploaded_through_replica_2_is_in_the_bucket_and_listed_by_replica_1(cluster, admin, uploaded_file):
    file_id, data = uploaded_file["id"], uploaded_file["bytes"]
    path = uploaded_file["upload"]["path"]
    assert path.startswith(f"s3://{cluster.bucket}/"), path
    key = path.removeprefix(f"s3://{cluster.bucket}/")
    assert file_id in key and key.endswith(UPLOAD_NAME)
    # Read back with boto3 from the (moto) bucket the synthesized S3_BUCKET_NAME names.
    s3 = cluster.s3()
    assert s3.get_object(Bucket=cluster.bucket, Key=key)["Body"].read() == data
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=cluster.bucket).get("Contents", [])] == [key]

    replica1 = cluster.replicas[0]
    listed = requests.get(f"{replica1.url}/api/v1/files/", headers=_auth(admin["token"]), timeout=30)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    items = body["items"] if isinstance(body, dict) else body
    assert file_id in [item["id"] for item in items]
    # Replica 1 never had the file on its disk (its own DATA_DIR): the content comes from S3.
    assert not list((replica1.workdir / "data").rglob(f"{file_id}*"))
    content = requests.get(f"{replica1.url}/api/v1/files/{file_id}/content", headers=_auth(admin["token"]), timeout=30)
    assert content.status_code == 200 and content.content == data


def test_the_upload_was_processed_with_the_embedding_model(uploaded_file):
    data = uploaded_file["file"].get("data") or {}
    assert uploaded_file["status"] == "completed", data
    assert "No embedding model" not in json.dumps(data)


def _socketio_client(origin: str):
    import socketio

    return socketio.Client(reconnection=False, websocket_extra_options={"origin": origin, "timeout": 10})


def _hgetall(cluster, key: str) -> dict[str, str]:
    flat = cluster.redis.command("HGETALL", key) or []
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


def test_socketio_accepts_the_site_origin_and_shares_the_session_through_redis(cluster, admin):
    replica = cluster.replicas[0]
    client = _socketio_client(cluster.site_origin)
    client.connect(replica.url, transports=["websocket"], socketio_path="/ws/socket.io",
                   auth={"token": admin["token"]}, wait_timeout=15)
    try:
        sid = client.get_sid()
        assert sid
        deadline = time.monotonic() + 10
        pool, channels = {}, []
        room_channel = f"socketio#/#user:{admin['id']}".encode()
        while time.monotonic() < deadline:
            pool = _hgetall(cluster, "open-webui:session_pool")
            channels = cluster.redis.command("PUBSUB", "CHANNELS", "socketio*") or []
            if sid in pool and room_channel in channels:
                break
            time.sleep(0.2)
        # The authenticated socket is in the Redis-backed session pool every replica reads ...
        assert sid in pool, pool
        assert json.loads(pool[sid])["id"] == admin["id"]
        # ... and the Redis manager subscribed the user's room channel for cross-replica emits.
        assert room_channel in channels, channels
        assert b"socketio" in channels
        # The other replica is subscribed to the shared channel too (one subscriber per replica).
        numsub = cluster.redis.command("PUBSUB", "NUMSUB", "socketio")
        assert numsub[1] >= len(cluster.replicas)
    finally:
        client.disconnect()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sid in _hgetall(cluster, "open-webui:session_pool"):
        time.sleep(0.2)
    assert sid not in _hgetall(cluster, "open-webui:session_pool"), "disconnect did not clear the session"


def test_an_event_emitted_on_replica_2_reaches_the_users_socket_on_replica_1(cluster, admin):
    """Cross-replica fan-out through the Redis manager: the point of WEBSOCKET_MANAGER=redis."""
    replica1, replica2 = cluster.replicas
    chat = requests.post(f"{replica1.url}/api/v1/chats/new", headers=_auth(admin["token"]), timeout=30,
                         json={"chat": {"title": "integration", "messages": [], "history": {"messages": {}}}})
    assert chat.status_code == 200, chat.text
    chat_id = chat.json()["id"]

    received: list[dict] = []
    arrived = threading.Event()
    on_replica1, on_replica2 = _socketio_client(cluster.site_origin), _socketio_client(cluster.site_origin)

    @on_replica1.on("events")
    def _events(data):
        if isinstance(data, dict) and data.get("chat_id") == chat_id:
            received.append(data)
            arrived.set()

    try:
        for client, replica in ((on_replica1, replica1), (on_replica2, replica2)):
            client.connect(replica.url, transports=["websocket"], socketio_path="/ws/socket.io",
                           auth={"token": admin["token"]}, wait_timeout=15)
        # Replica 2 handles this and emits "events" to the room user:<id> ...
        on_replica2.emit("events:chat", {"chat_id": chat_id, "data": {"type": "last_read_at"}})
        # ... which only reaches the socket held by replica 1 through Redis pub/sub.
        assert arrived.wait(15), "the event emitted by replica 2 never reached the socket on replica 1"
    finally:
        on_replica1.disconnect()
        on_replica2.disconnect()
    assert received[0]["data"]["type"] == "chat:list"


@pytest.mark.parametrize("origin", ["https://evil.example", "https://chat.ajudadigital.tl.evil.example", "replica"])
def test_socketio_refuses_any_other_origin(cluster, admin, origin):
    import socketio

    replica = cluster.replicas[1]
    if origin == "replica":  # the replica's own address is not the site either
        origin = replica.url
    client = _socketio_client(origin)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(replica.url, transports=["websocket"], socketio_path="/ws/socket.io",
                       auth={"token": admin["token"]}, wait_timeout=10)
    client.disconnect()
