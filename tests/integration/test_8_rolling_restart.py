"""Deploys and scale-in never cut a request: a rolling restart under load, and SIGTERM during a streamed answer.

ECS replaces a task in this order: deregister it from the target group (the ALB sends it nothing new
and lets what is in flight finish, for at most the synthesized deregistration delay), then SIGTERM,
then SIGKILL after the synthesized stopTimeout. ``harness.TargetGroup`` plays the target group on
loopback; ``Replica.stop`` sends SIGTERM and SIGKILL after the task definition's stopTimeout.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from tests.integration import harness

ROUND_REQUESTS = 400
CONCURRENCY = 8


def _deregistration_delay(cluster) -> float:
    # The public load balancer's target group (the stack may hold other services' too).
    group = cluster.synthesized.one(cluster.stack, "aws_lb_target_group", "load-balancer_targets")
    return float(group["deregistration_delay"])


def test_rolling_restart_under_load_fails_no_request(cluster, admin):
    assert all(r.running for r in cluster.replicas)
    targets = harness.TargetGroup(cluster.replicas, _deregistration_delay(cluster))
    results: list[harness.LoadResult] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            results.append(harness.run_load(cluster, admin["token"], total=ROUND_REQUESTS, concurrency=CONCURRENCY,
                                            targets=targets, time_limit=600))

    worker = threading.Thread(target=load, name="rolling-load", daemon=True)
    worker.start()
    restarts = {}
    try:
        for replica in cluster.replicas:  # one task at a time, as the service scheduler does
            time.sleep(1)
            drained = targets.deregister(replica)
            code = replica.stop()
            assert code is not None and not replica.running
            restarts[replica.name] = (drained, cluster.restart(replica))
            targets.register(replica)
        time.sleep(2)  # the restarted replicas serve again before the load ends
    finally:
        stop.set()
        worker.join(timeout=900)
    print(f"\n[integration] rolling restart: {len(results)} rounds; drained/restarted s {restarts}")
    errors = [e for r in results for e in r.errors]
    assert not errors, errors[:5]
    served = {name: sum(r.per_replica[name] for r in results) for name in results[0].per_replica}
    assert sum(served.values()) == ROUND_REQUESTS * len(results) and min(served.values()) > 0, served
    for replica in cluster.replicas:
        assert len(replica.log_paths) >= 2, f"{replica.name} was not restarted"


def _model(cluster) -> str | None:
    return cluster.synthesized_env.get("DEFAULT_MODELS", "").split(",")[0] or None


def test_sigterm_during_a_streamed_answer_still_delivers_all_of_it(cluster, admin):
    """uvicorn, on SIGTERM, stops accepting connections and waits for responses in flight
    (uvicorn/server.py:281-325): the streamed answer ends with [DONE] and the process exits after."""
    model = _model(cluster)
    if model is None or "OPENAI_API_BASE_URLS" not in cluster.synthesized_env:
        pytest.skip("no model connection is synthesized yet (the model gateway, issue 12)")
    replica = cluster.replicas[0]
    response = requests.post(f"{replica.url}/api/chat/completions", stream=True, timeout=300,
                             headers={"Authorization": f"Bearer {admin['token']}"},
                             json={"model": model, "stream": True,
                                   "messages": [{"role": "user", "content": "Tell me a long story."}]})
    assert response.status_code == 200, response.text[:500]
    chunks, done, stopper = [], False, None
    for line in response.iter_lines():
        if not line.startswith(b"data: "):
            continue
        payload = line[6:]
        if payload == b"[DONE]":
            done = True
            break
        chunks.append(json.loads(payload))
        if len(chunks) == 2 and stopper is None:  # the answer has started: ECS stops the task now
            stopper = threading.Thread(target=replica.stop, daemon=True)
            stopper.start()
    assert stopper is not None, "the answer ended before the stop could begin"
    stopper.join(timeout=float(cluster.container["stopTimeout"]) + 30)
    assert done and not any("error" in c for c in chunks), chunks[-3:]
    assert not replica.running
    cluster.restart(replica)
