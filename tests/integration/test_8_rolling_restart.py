"""Deploys and scale-in never cut a request: a rolling restart under load, and SIGTERM during a streamed answer.

ECS replaces a task in this order: deregister it from the target group (the ALB sends it nothing new
and lets what is in flight finish, for at most the synthesized deregistration delay), then SIGTERM,
then SIGKILL after the synthesized stopTimeout. ``load.TargetGroup`` plays the target group on
loopback; ``Replica.stop`` sends SIGTERM and SIGKILL after the task definition's stopTimeout.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from tests.integration import load, processes

ROUND_REQUESTS = 400
CONCURRENCY = 8


def _deregistration_delay(cluster) -> float:
    # The public load balancer's target group (the stack may hold other services' too).
    group = cluster.synthesized.one(cluster.stack, "aws_lb_target_group", "load-balancer_targets")
    return float(group["deregistration_delay"])


def test_rolling_restart_under_load_fails_no_request(cluster, admin):
    assert all(r.running for r in cluster.replicas)
    targets = load.TargetGroup(cluster.replicas, _deregistration_delay(cluster))
    results: list[load.LoadResult] = []
    stop = threading.Event()

    def keep_loading() -> None:
        while not stop.is_set():
            results.append(load.run_load(cluster, admin["token"], total=ROUND_REQUESTS, concurrency=CONCURRENCY,
                                         targets=targets, time_limit=600))

    worker = threading.Thread(target=keep_loading, name="rolling-load", daemon=True)
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
    (uvicorn/server.py:281-325): the streamed answer ends complete and the process exits after."""
    from tests.support import bedrock_standin as bs

    model = _model(cluster)
    if model is None or getattr(cluster, "gateway", None) is None:
        pytest.skip("no model connection is synthesized (the model gateway, issue 12)")
    replica, question = cluster.replicas[0], "Tell me a long story about Dili."
    bedrock = cluster.gateway.bedrock
    previous_delay, bedrock.chunk_delay = bedrock.chunk_delay, 0.5  # ~8 s of answer, SIGTERM in the middle
    try:
        response = requests.post(f"{replica.url}/api/chat/completions", stream=True, timeout=300,
                                 headers={"Authorization": f"Bearer {admin['token']}"},
                                 json={"model": model, "stream": True,
                                       "messages": [{"role": "user", "content": question}]})
        assert response.status_code == 200, response.text[:500]
        content, done, stopper, stopped_at = [], False, None, None
        for line in response.iter_lines():
            if not line.startswith(b"data: "):
                continue
            if line[6:] == b"[DONE]":
                done = True
                break
            event = json.loads(line[6:])
            assert "error" not in event, event
            content += [c["delta"].get("content") or "" for c in event.get("choices", [])]
            if stopper is None and "".join(content):  # the answer has started: ECS stops the task now
                stopped_at = len("".join(content))
                stopper = threading.Thread(target=replica.stop, daemon=True)
                stopper.start()
                time.sleep(1)
                assert processes.http_status(replica.url + "/health") == 0, "still accepting new connections"
    finally:
        bedrock.chunk_delay = previous_delay
    assert stopper is not None and done
    stopper.join(timeout=float(cluster.container["stopTimeout"]) + 30)
    assert not replica.running
    expected = "".join(bs.answer_chunks(question))
    assert "".join(content) == expected and stopped_at < len(expected), ("".join(content), stopped_at)
    cluster.restart(replica)
