"""Benchmark: bounded load on the REAL Open WebUI, booted as the integration tier boots it.

    bash scripts/integration-env.sh            # once: redis-server, the Open WebUI venv, clients
    .venv/bin/python bench/load_bench.py [--requests 2000] [--concurrency 16] [--replicas 2]
                                         [--path /api/v1/auths/] [--rounds 1]

Synthesizes the stacks, starts PostgreSQL+pgvector, Redis (AUTH), moto, the migration task and
N replicas of Open WebUI from the PROD task definition (tests/integration/harness.py), signs up
the first user, then sends ``--requests`` authenticated GETs, round-robin over the replicas,
``--concurrency`` at a time, to 127.0.0.1 only. Prints throughput, latency percentiles, errors and
the peak PostgreSQL connections against the budget (replicas x max_database_connections_per_task).
Everything it starts is stopped before it exits, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CHECKPOINT_DISABLE", "1")

from tests.integration import harness, load  # noqa: E402

# Hard bounds: this is a loopback benchmark, not a stress tool.
MAX_REQUESTS = 20000
MAX_CONCURRENCY = 64
MAX_ROUNDS = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--path", default="/api/v1/auths/", help="authenticated GET path (default: the session user)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the load this many times on the same servers")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per round at most")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) afterwards")
    args = parser.parse_args()
    if not (1 <= args.requests <= MAX_REQUESTS and 1 <= args.concurrency <= MAX_CONCURRENCY
            and 1 <= args.rounds <= MAX_ROUNDS and 1 <= args.replicas <= 4):
        parser.error(f"bounds: requests <= {MAX_REQUESTS}, concurrency <= {MAX_CONCURRENCY}, "
                     f"rounds <= {MAX_ROUNDS}, replicas 1..4")

    code = 0
    try:
        with harness.bench_cluster("ajuda-load-bench-", replicas=args.replicas, keep=args.keep) as (cluster, token):
            code = run_rounds(cluster, token, args)
    except KeyboardInterrupt:
        code = 130
    return code


def run_rounds(cluster, token: str, args) -> int:
    code = 0
    budget = len(cluster.replicas) * cluster.max_connections_per_task()
    for round_number in range(1, args.rounds + 1):
        result = load.run_load(cluster, token, total=args.requests, concurrency=args.concurrency,
                                  path=args.path, time_limit=args.time_limit)
        print(f"round {round_number}: {args.requests} x GET {args.path}, concurrency {args.concurrency}, "
              f"{len(cluster.replicas)} replica(s)")
        print(f"  throughput   {result.throughput:8.1f} req/s  ({result.elapsed:.2f} s)")
        print(f"  latency      p50 {result.percentile(50) * 1000:.1f} ms  p95 {result.percentile(95) * 1000:.1f} ms"
              f"  p99 {result.percentile(99) * 1000:.1f} ms  max {max(result.latencies, default=0) * 1000:.1f} ms")
        print(f"  errors       {len(result.errors)}" + (f"  first: {result.errors[0]}" if result.errors else ""))
        print(f"  per replica  {result.per_replica}")
        print(f"  PostgreSQL   peak app-role connections {result.peak_app_connections} "
              f"(budget {budget}), all clients {result.peak_client_connections}, {result.samples} samples")
        if result.errors or result.peak_app_connections > budget:
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
