"""Bounded load on loopback: zero errors, and the database connections stay within the capacity arithmetic."""

from __future__ import annotations

from tests.integration import load, processes

REQUESTS = 2000
CONCURRENCY = 16


def test_bounded_load_has_no_errors_and_stays_within_the_connection_budget(cluster, admin):
    assert all(r.running for r in cluster.replicas), "the load needs every replica"
    result = load.run_load(cluster, admin["token"], total=REQUESTS, concurrency=CONCURRENCY)
    print(f"\n[integration] load: {result.summary()}")

    assert not result.errors, result.errors[:5]
    assert len(result.latencies) == REQUESTS
    assert set(result.per_replica.values()) == {REQUESTS // len(cluster.replicas)}
    assert result.samples >= 5, "pg_stat_activity was barely sampled"
    # modules/open_webui.max_database_connections_per_task for the synthesized pools, per replica.
    budget = len(cluster.replicas) * cluster.max_connections_per_task()
    assert 0 < result.peak_app_connections <= budget
    # Everything else connected meanwhile: the harness's sampler (and nothing else) - the allowance.
    assert result.peak_client_connections <= budget + load.ADMIN_CONNECTION_ALLOWANCE
    for replica in cluster.replicas:
        assert processes.http_status(replica.url + "/ready") == 200


def test_nothing_tried_to_reach_the_internet(cluster, admin, uploaded_file):
    """OFFLINE_MODE holds: no proxy-aware client of the app tried an outside address during the tier."""
    assert cluster.egress.attempts == []
