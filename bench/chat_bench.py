"""Benchmark: answers through Open WebUI + the model gateway against the Bedrock stand-in called directly.

    bash scripts/integration-env.sh        # once: Open WebUI, the gateway venv, redis-server, chromium
    .venv/bin/python bench/chat_bench.py [--chats 32] [--concurrency 8] [--documents 4]

Boots what the integration tier boots (tests/integration/harness.py: two Open WebUI replicas and
the LiteLLM gateway from their synthesized prod task definitions, the Bedrock stand-in), then:

1. ``--chats`` ConverseStream calls straight to the stand-in (boto3), ``--concurrency`` at once:
   time to first token and to the full answer, p50/p95.
2. The same number of chats through Open WebUI (socket on replica 1, completion on replica 2, as
   the frontend does) + the gateway + the stand-in: the same two times, and the ratio to (1).
3. Embedding throughput: ``--documents`` uploads of a ~1,500-word document, each processed
   (chunked, embedded with Titan V2 through the gateway, stored in pgvector): seconds per document,
   chunks (InvokeModel calls) per second.
4. Task memory and cold start of a replica with the gateway's embeddings (as synthesized) against
   one with the image's local embedding model (RAG_EMBEDDING_ENGINE='' : the pre-gateway setting).

Loopback only, bounded counts; everything it starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CHECKPOINT_DISABLE", "1")

from tests.integration import chat, harness, load, processes  # noqa: E402
from tests.support.bedrock_standin import answer_chunks  # noqa: E402

MAX_CHATS = 200
MAX_CONCURRENCY = 16
MAX_DOCUMENTS = 20


def summary(name: str, first: list[float], total: list[float]) -> dict:
    row = {"first_p50": load.percentile(first, 50), "first_p95": load.percentile(first, 95),
           "total_p50": load.percentile(total, 50), "total_p95": load.percentile(total, 95)}
    print(f"  {name:<34} first token p50 {row['first_p50'] * 1000:7.0f} ms  p95 {row['first_p95'] * 1000:7.0f} ms   "
          f"full answer p50 {row['total_p50'] * 1000:7.0f} ms  p95 {row['total_p95'] * 1000:7.0f} ms   (n={len(total)})",
          flush=True)
    return row


def direct_calls(cluster, count: int, concurrency: int) -> tuple[list[float], list[float]]:
    standin = cluster.gateway.bedrock
    model = cluster.gateway.config["model_list"][0]["litellm_params"]["model"].removeprefix("bedrock/converse/")
    firsts, totals = [], []

    def one(i: int) -> None:
        client = standin.client()
        started = time.monotonic()
        first = None
        response = client.converse_stream(modelId=model, messages=[{"role": "user", "content": [{"text": f"direct {i}"}]}])
        for event in response["stream"]:
            if first is None and "contentBlockDelta" in event:
                first = time.monotonic() - started
        firsts.append(first)
        totals.append(time.monotonic() - started)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(count)))
    return firsts, totals


def chats_through_open_webui(cluster, token: str, count: int, concurrency: int) -> tuple[list[float], list[float], int]:
    replica1, replica2 = cluster.replicas[:2]
    firsts, totals, errors = [], [], 0

    def one(i: int) -> None:
        nonlocal errors
        question = f"bench question {i}"
        result = chat.stream_chat(cluster, token, question, socket_on=replica1, post_to=replica2, timeout=120)
        if result.error or result.first_token_seconds is None:
            errors += 1
            return
        firsts.append(result.first_token_seconds)
        totals.append(result.total_seconds)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(count)))
    return firsts, totals, errors


def embedding_throughput(cluster, token: str, documents: int) -> None:
    import requests

    words = ("Ajuda Digital helps citizens of Timor-Leste find public services, documents, health posts and "
             "schools; every answer cites the document it comes from. ").split()
    text = " ".join(words[i % len(words)] for i in range(1500))
    standin = cluster.gateway.bedrock
    headers = {"Authorization": f"Bearer {token}"}
    replica = cluster.replicas[1]
    before = len(standin.recorded("InvokeModel"))
    seconds = []
    for i in range(documents):
        started = time.monotonic()
        upload = requests.post(f"{replica.url}/api/v1/files/", headers=headers, timeout=120,
                               files={"file": (f"bench-{i}.txt", f"document {i}\n{text}".encode(), "text/plain")})
        upload.raise_for_status()
        file_id = upload.json()["id"]
        while time.monotonic() - started < 300:
            status = requests.get(f"{replica.url}/api/v1/files/{file_id}/process/status", headers=headers,
                                  timeout=30).json().get("status")
            if status in ("completed", "failed"):
                break
            time.sleep(0.2)
        if status != "completed":
            print(f"  document {i}: {status}", flush=True)
        seconds.append(time.monotonic() - started)
    calls = len(standin.recorded("InvokeModel")) - before
    total = sum(seconds)
    print(f"  {documents} documents of 1,500 words: {total / documents:.2f} s per document (p95 "
          f"{load.percentile(seconds, 95):.2f} s), {calls / documents:.1f} embedding calls per document, "
          f"{calls / total:.1f} chunks embedded per second", flush=True)


def process_tree_rss_mb(pid: int) -> float:
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total / 1024


def replica_footprint(cluster, name: str, overrides: dict[str, str]) -> tuple[float, float]:
    """(seconds until /ready, RSS MB after ready) of one extra replica with ``overrides``."""
    env = cluster.compose_environment(name)
    env.update(overrides)
    port = processes.free_port()
    replica = processes.Replica(name=name, port=port, env=env, workdir=cluster.workdir / name, stop_timeout=30,
                              command=["open-webui", "serve", "--host", processes.LOCALHOST, "--port", str(port)])
    replica.start()
    try:
        seconds = replica.wait_ready(600)
        time.sleep(2)
        return seconds, process_tree_rss_mb(replica.process.pid)
    finally:
        replica.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--documents", type=int, default=4)
    parser.add_argument("--skip-footprint", action="store_true", help="skip the memory / cold start comparison")
    args = parser.parse_args()
    if not (1 <= args.chats <= MAX_CHATS and 1 <= args.concurrency <= MAX_CONCURRENCY
            and 0 <= args.documents <= MAX_DOCUMENTS):
        parser.error(f"bounds: chats <= {MAX_CHATS}, concurrency <= {MAX_CONCURRENCY}, documents <= {MAX_DOCUMENTS}")
    with harness.bench_cluster("ajuda-chat-bench-") as (cluster, token):
        chat.stream_chat(cluster, token, "warm-up", socket_on=cluster.replicas[0], post_to=cluster.replicas[1])
        print(f"streamed answers, {args.chats} at concurrency {args.concurrency} (stand-in: "
              f"{len(answer_chunks('x'))} chunks, {cluster.gateway.bedrock.chunk_delay * 1000:.0f} ms apart):", flush=True)
        direct = summary("Bedrock stand-in direct (boto3)", *direct_calls(cluster, args.chats, args.concurrency))
        firsts, totals, errors = chats_through_open_webui(cluster, token, args.chats, args.concurrency)
        through = summary("Open WebUI + gateway + stand-in", firsts, totals)
        print(f"  errors through Open WebUI: {errors}", flush=True)
        print("  ratio (through / direct): " + ", ".join(
            f"{key.replace('_', ' ')} x{through[key] / direct[key]:.1f}" for key in direct), flush=True)
        if args.documents:
            print("embedding throughput (Titan V2 through the gateway):", flush=True)
            embedding_throughput(cluster, token, args.documents)
        if not args.skip_footprint:
            print("one more replica, booted alone after the load (cold start to /ready, RSS of its process tree):",
                  flush=True)
            gateway_side = replica_footprint(cluster, "bench-gateway-embeddings", {})
            local_side = replica_footprint(cluster, "bench-local-embeddings", {
                "RAG_EMBEDDING_ENGINE": "", "RAG_EMBEDDING_MODEL": "sentence-transformers/all-MiniLM-L6-v2"})
            for label, (seconds, rss) in (("embeddings through the gateway", gateway_side),
                                          ("local all-MiniLM-L6-v2 model", local_side)):
                print(f"  {label:<32} cold start {seconds:6.1f} s   RSS {rss:7.0f} MB", flush=True)
    return 0

if __name__ == "__main__":
    sys.exit(main())
