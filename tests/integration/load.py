"""The bounded load generator: authenticated GETs over the replicas, a target group for rolling restarts,
and the pg_stat_activity sampler that measures connections while the load runs."""

from __future__ import annotations

import contextlib
import math
import statistics
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.integration.processes import Replica

if TYPE_CHECKING:
    from tests.integration.harness import Cluster

# Connections outside the app role allowed during the load: the harness's pg_stat_activity sampler
# (one superuser connection) plus one spare for any other harness query running at that moment.
ADMIN_CONNECTION_ALLOWANCE = 2


@dataclass
class LoadResult:
    requests: int
    concurrency: int
    elapsed: float
    latencies: list[float]
    errors: list[str]
    per_replica: dict[str, int]
    peak_app_connections: int
    peak_client_connections: int
    samples: int

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p) if self.latencies else 0.0

    def summary(self) -> str:
        return (f"{self.requests} requests, concurrency {self.concurrency}, {self.elapsed:.1f}s: "
                f"{self.throughput:.0f} req/s, p50 {self.percentile(50) * 1000:.1f} ms, "
                f"p95 {self.percentile(95) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms, "
                f"mean {statistics.fmean(self.latencies) * 1000 if self.latencies else 0:.1f} ms, "
                f"errors {len(self.errors)}, per replica {self.per_replica}, "
                f"peak connections app role {self.peak_app_connections} / all clients {self.peak_client_connections}"
                f" ({self.samples} samples)")


class ConnectionSampler:
    """Samples pg_stat_activity while the load runs (one superuser connection: the admin allowance)."""

    def __init__(self, cluster: Cluster, interval: float = 0.05) -> None:
        self.cluster = cluster
        self.interval = interval
        self.peak_app = 0
        self.peak_clients = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        import psycopg2

        try:
            conn = psycopg2.connect(self.cluster.postgres.dsn(sslmode="disable"))
            conn.autocommit = True
            with conn.cursor() as cur:
                while not self._stop.is_set():
                    cur.execute(
                        "SELECT count(*) FILTER (WHERE usename = %s), count(*) FROM pg_stat_activity "
                        "WHERE backend_type = 'client backend'", [self.cluster.access.role])
                    app, clients = cur.fetchone()
                    self.peak_app = max(self.peak_app, app)
                    self.peak_clients = max(self.peak_clients, clients)
                    self.samples += 1
                    self._stop.wait(self.interval)
            conn.close()
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def run_load(cluster: Cluster, token: str, total: int = 2000, concurrency: int = 16,
             path: str = "/api/v1/auths/", time_limit: float = 300.0, targets: TargetGroup | None = None) -> LoadResult:
    """``total`` authenticated GETs, round-robin over the running replicas, ``concurrency`` at once.

    Bounded in count and time: stops issuing requests after ``time_limit`` seconds (counted as errors).
    With ``targets``, each request goes to a replica the target group has in service (a load balancer).
    """
    import requests

    replicas = [r for r in cluster.replicas if r.running]
    assert replicas, "no running replica"
    headers = {"Authorization": f"Bearer {token}"}
    local = threading.local()
    deadline = time.monotonic() + time_limit
    latencies: list[float] = []
    errors: list[str] = []
    per_replica = {r.name: 0 for r in (cluster.replicas if targets else replicas)}
    lock = threading.Lock()

    def one(i: int) -> None:
        if targets is not None:
            with targets.request(i) as replica:
                send(i, replica)
        else:
            send(i, replicas[i % len(replicas)])

    def send(i: int, replica: Replica) -> None:
        if time.monotonic() > deadline:
            with lock:
                errors.append(f"#{i}: time limit reached")
            return
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        started = time.perf_counter()
        try:
            response = session.get(replica.url + path, headers=headers, timeout=30)
            elapsed = time.perf_counter() - started
            ok = response.status_code == 200
            detail = f"#{i} {replica.name}: HTTP {response.status_code} {response.text[:200]}"
        except requests.RequestException as exc:
            elapsed, ok, detail = time.perf_counter() - started, False, f"#{i} {replica.name}: {exc!r}"
        with lock:
            if ok:
                latencies.append(elapsed)
                per_replica[replica.name] += 1
            else:
                errors.append(detail)

    with ConnectionSampler(cluster) as sampler:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load") as pool:
            list(pool.map(one, range(total)))
        elapsed = time.monotonic() - started
    if sampler.error:
        raise sampler.error
    return LoadResult(requests=total, concurrency=concurrency, elapsed=elapsed, latencies=latencies, errors=errors,
                      per_replica=per_replica, peak_app_connections=sampler.peak_app,
                      peak_client_connections=sampler.peak_clients, samples=sampler.samples)


class TargetGroup:
    """What the ALB target group does for a rolling deploy, on loopback: requests go round-robin to the
    replicas in service; ``deregister`` takes one out of service and returns once its in-flight
    requests are done or the synthesized deregistration delay has passed (draining), as ECS waits
    before it sends SIGTERM."""

    def __init__(self, replicas: Iterable[Replica], deregistration_delay: float) -> None:
        self.in_service = list(replicas)
        self.deregistration_delay = deregistration_delay
        self._in_flight: dict[str, int] = {}
        self._changed = threading.Condition()

    def request(self, i: int):
        @contextlib.contextmanager
        def routed():
            with self._changed:
                replica = self.in_service[i % len(self.in_service)]
                self._in_flight[replica.name] = self._in_flight.get(replica.name, 0) + 1
            try:
                yield replica
            finally:
                with self._changed:
                    self._in_flight[replica.name] -= 1
                    self._changed.notify_all()

        return routed()

    def deregister(self, replica: Replica) -> float:
        """Seconds the target spent draining."""
        started = time.monotonic()
        with self._changed:
            self.in_service.remove(replica)
            assert self.in_service, "deregistering the last target"
            self._changed.wait_for(lambda: self._in_flight.get(replica.name, 0) == 0, timeout=self.deregistration_delay)
        return time.monotonic() - started

    def register(self, replica: Replica) -> None:
        with self._changed:
            self.in_service.append(replica)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")
