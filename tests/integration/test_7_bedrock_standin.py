"""The local Bedrock Runtime stand-in speaks the real wire protocol: boto3's own client talks to it.

No Open WebUI needed: boto3's ``bedrock-runtime`` client (the service model AWS publishes) signs,
serializes and parses; the stand-in must satisfy it byte for byte, event-stream CRCs included.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.support import bedrock_standin as bs

REGION = "eu-west-1"
CHAT_MODEL = "amazon.nova-lite-v1:0"


@pytest.fixture(scope="module")
def standin():
    with bs.BedrockStandIn(REGION, chunk_delay=0.05) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(standin):
    standin.reset()
    standin.policy = None
    yield


def _question(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"text": text}]}]


def test_converse_answers_in_bedrocks_shape_and_is_recorded(standin):
    response = standin.client().converse(modelId=CHAT_MODEL, messages=_question("Como renovar o bilhete?"),
                                         system=[{"text": "You are Ajuda Digital."}],
                                         inferenceConfig={"maxTokens": 200, "temperature": 0.2})
    expected = "".join(bs.answer_chunks("Como renovar o bilhete?"))
    assert response["output"]["message"] == {"role": "assistant", "content": [{"text": expected}]}
    assert response["stopReason"] == "end_turn"
    assert response["usage"]["inputTokens"] > 0 and response["usage"]["outputTokens"] > 0
    [record] = standin.recorded()
    assert (record.operation, record.model_id, record.status) == ("Converse", CHAT_MODEL, 200)
    assert (record.signing_service, record.signing_region) == ("bedrock", REGION)
    assert record.body["system"] == [{"text": "You are Ajuda Digital."}]
    assert record.body["inferenceConfig"]["maxTokens"] == 200
    assert "You are Ajuda Digital." in record.prompt and "Como renovar" in record.prompt


def test_converse_stream_arrives_chunk_by_chunk_in_order(standin):
    question = "Onde fica o posto de saúde?"
    response = standin.client().converse_stream(modelId=CHAT_MODEL, messages=_question(question))
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == bs.EVENTSTREAM
    events, arrivals = [], []
    for event in response["stream"]:
        events.append(event)
        arrivals.append(time.monotonic())
    kinds = [next(iter(e)) for e in events]
    chunks = bs.answer_chunks(question)
    assert kinds == ["messageStart"] + ["contentBlockDelta"] * len(chunks) + ["contentBlockStop", "messageStop", "metadata"]
    assert [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e] == chunks
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0
    # Streamed, not buffered: the deltas arrive spread over the configured delay, not all at once.
    deltas = arrivals[1:1 + len(chunks)]
    assert deltas[-1] - deltas[0] >= 0.5 * standin.chunk_delay * (len(chunks) - 1)


def test_event_stream_frames_decode_with_botocores_decoder():
    """Our encoder against botocore's decoder: prelude, headers, payload and both CRC32s."""
    from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

    frame = bs.event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "olá"}})
    buffer = EventStreamBuffer()
    buffer.add_data(frame + bs.exception_frame("throttlingException", "slow down"))
    first, second = list(buffer)
    assert first.headers == {":event-type": "contentBlockDelta", ":content-type": "application/json",
                             ":message-type": "event"}
    assert json.loads(first.payload) == {"contentBlockIndex": 0, "delta": {"text": "olá"}}
    assert second.headers[":exception-type"] == "throttlingException"
    corrupted = bytearray(frame)
    corrupted[-5] ^= 0xFF  # a payload byte: the message CRC no longer matches
    broken = EventStreamBuffer()
    broken.add_data(bytes(corrupted))
    with pytest.raises(ChecksumMismatch):
        list(broken)


def test_titan_v2_embeddings_through_invoke_model(standin):
    client = standin.client()

    def embedding(text: str, **extra) -> dict:
        response = client.invoke_model(modelId=bs.TITAN_EMBED_V2, contentType="application/json", accept="application/json",
                                       body=json.dumps({"inputText": text, **extra}))
        assert response["contentType"] == "application/json"
        return json.loads(response["body"].read())

    default = embedding("Ajuda Digital helps citizens of Timor-Leste")
    assert len(default["embedding"]) == 1024 and default["inputTextTokenCount"] == 8  # Timor - Leste: 3
    assert abs(sum(v * v for v in default["embedding"]) - 1.0) < 1e-9  # normalize defaults to true
    small = embedding("Ajuda Digital helps citizens of Timor-Leste", dimensions=256, normalize=True, embeddingTypes=["float"])
    assert len(small["embedding"]) == 256 and small["embeddingsByType"]["float"] == small["embedding"]

    def cosine(a, b):
        return sum(x * y for x, y in zip(a, b, strict=True))

    near = embedding("citizens of Timor-Leste")["embedding"]
    far = embedding("quantum chromodynamics lattice")["embedding"]
    assert cosine(default["embedding"], near) > cosine(default["embedding"], far)
    [record] = standin.recorded("InvokeModel")[:1]
    assert record.body == {"inputText": "Ajuda Digital helps citizens of Timor-Leste"}


@pytest.mark.parametrize("body, fragment", [
    ({"inputText": "x", "dimensions": 300}, "dimensions"),
    ({"inputText": ""}, "minLength"),
    ({"text": "x"}, "extraneous key"),
])
def test_titan_v2_refuses_malformed_input_as_bedrock_does(standin, body, fragment):
    with pytest.raises(ClientError) as caught:
        standin.client().invoke_model(modelId=bs.TITAN_EMBED_V2, body=json.dumps(body))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fragment in caught.value.response["Error"]["Message"]


def test_embedding_model_cannot_converse_and_chat_model_cannot_embed(standin):
    client = standin.client()
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=bs.TITAN_EMBED_V2, messages=_question("hi"))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId=CHAT_MODEL, body=json.dumps({"inputText": "hi"}))
    assert caught.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize("overrides, code", [
    ({"aws_secret_access_key": "wrong-secret"}, "InvalidSignatureException"),
    ({"aws_access_key_id": "ASIAUNKNOWNKEY0000"}, "UnrecognizedClientException"),
    ({"aws_session_token": "someone-elses-token"}, "UnrecognizedClientException"),
    ({"region_name": "us-west-2"}, "InvalidSignatureException"),
])
def test_bad_signatures_are_refused_with_bedrocks_error_shape(standin, overrides, code):
    with pytest.raises(ClientError) as caught:
        standin.client(**overrides).converse(modelId=CHAT_MODEL, messages=_question("hi"))
    error = caught.value.response
    assert error["Error"]["Code"] == code and error["ResponseMetadata"]["HTTPStatusCode"] == 403
    [record] = standin.recorded()
    assert record.status == 403 and record.error_code == code and record.chunks == []


def test_signature_for_another_service_is_refused(standin):
    """A request signed for `bedrock-runtime` (the endpoint prefix) instead of `bedrock` (the signing name)."""
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = standin.credentials
    body = json.dumps({"messages": _question("hi")}).encode()
    url = f"{standin.endpoint}/model/{CHAT_MODEL}/converse"
    request = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token),
              "bedrock-runtime", REGION).add_auth(request)
    response = requests.post(url, data=body, headers=dict(request.headers.items()), timeout=10)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"].startswith("InvalidSignatureException")
    assert "correct service: 'bedrock'" in response.json()["message"]
    # Unsigned: refused too.
    unsigned = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException")


def test_a_tampered_body_or_a_stale_date_is_refused(standin):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = standin.credentials
    path = f"/model/{CHAT_MODEL}/converse"
    request = AWSRequest("POST", standin.endpoint + path, data=b'{"messages": []}',
                         headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token), "bedrock",
              REGION).add_auth(request)
    headers = dict(request.headers.items()) | {"host": f"127.0.0.1:{standin.port}"}
    assert standin.verify_signature("POST", path, headers, b'{"messages": []}')[0] == creds.access_key_id
    with pytest.raises(bs.BedrockError, match="does not match"):
        standin.verify_signature("POST", path, headers, b'{"messages": [1]}')
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)
    with pytest.raises(bs.BedrockError, match="Signature expired"):
        standin.verify_signature("POST", path, headers, b'{"messages": []}', now=later)


def test_model_ids_in_the_path_are_percent_encoded_arns(standin):
    """Inference profile ARNs carry ':' and '/': botocore percent-encodes them and signs the encoded path."""
    arn = f"arn:aws:bedrock:{REGION}:{standin.account}:inference-profile/eu.{CHAT_MODEL}"
    response = standin.client().converse(modelId=arn, messages=_question("hi"))
    assert response["stopReason"] == "end_turn"
    assert standin.recorded()[0].model_id == arn


def test_the_roles_policy_is_enforced_per_action_and_model(standin):
    allowed_profile = f"arn:aws:bedrock:{REGION}:{standin.account}:inference-profile/eu.{CHAT_MODEL}"
    standin.policy = [
        {"Effect": "Allow", "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
         "Resource": [f"arn:aws:bedrock:{REGION}::foundation-model/{CHAT_MODEL}", allowed_profile]},
        {"Effect": "Allow", "Action": "bedrock:InvokeModel",
         "Resource": f"arn:aws:bedrock:{REGION}::foundation-model/{bs.TITAN_EMBED_V2}"},
    ]
    client = standin.client()
    assert client.converse(modelId=CHAT_MODEL, messages=_question("hi"))["stopReason"] == "end_turn"
    assert client.converse(modelId=f"eu.{CHAT_MODEL}", messages=_question("hi"))["stopReason"] == "end_turn"
    list(client.converse_stream(modelId=CHAT_MODEL, messages=_question("hi"))["stream"])
    client.invoke_model(modelId=bs.TITAN_EMBED_V2, body=json.dumps({"inputText": "hi"}))
    # Embeddings may not stream; other models are not allowed at all.
    for call in (lambda: client.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=_question("hi")),
                 lambda: client.converse(modelId=f"us.{CHAT_MODEL}", messages=_question("hi"))):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "is not authorized to perform: bedrock:InvokeModel" in caught.value.response["Error"]["Message"]
    standin.policy = [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]
    with pytest.raises(ClientError) as caught:
        client.converse_stream(modelId=CHAT_MODEL, messages=_question("hi"))
    assert "bedrock:InvokeModelWithResponseStream" in caught.value.response["Error"]["Message"]


def test_injected_throttling_looks_like_bedrocks(standin):
    standin.fail_next("ThrottlingException", "Too many requests, please wait before trying again.")
    with pytest.raises(ClientError) as caught:
        standin.client().converse(modelId=CHAT_MODEL, messages=_question("hi"))
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert standin.client().converse(modelId=CHAT_MODEL, messages=_question("hi"))["stopReason"] == "end_turn"


def test_conversation_rules_are_bedrocks(standin):
    client = standin.client()
    with pytest.raises(ClientError, match="must start with a user message"):
        client.converse(modelId=CHAT_MODEL, messages=[{"role": "assistant", "content": [{"text": "hi"}]}])
    with pytest.raises(ClientError, match="alternate"):
        client.converse(modelId=CHAT_MODEL, messages=_question("a") + _question("b"))


def test_credentials_come_from_a_container_credentials_endpoint(standin, monkeypatch):
    """A default boto3 session finds the handed-out credentials the way a Fargate task finds its role's."""
    import boto3

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in standin.client_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    before = standin.credential_fetches
    # No endpoint_url and no keys: both from the environment, as in the gateway's task.
    client = boto3.Session(region_name=REGION).client("bedrock-runtime")
    assert client.converse(modelId=CHAT_MODEL, messages=_question("hi"))["stopReason"] == "end_turn"
    assert standin.credential_fetches == before + 1
    assert standin.recorded()[-1].access_key_id == standin.credentials.access_key_id
    import requests

    # Like ECS's endpoint, it answers only with the task's authorization token.
    assert requests.get(standin.credentials_uri, headers={"Authorization": "wrong"}, timeout=10).status_code == 401
    assert requests.get(standin.credentials_uri, timeout=10).status_code == 401


def test_records_are_served_over_http_for_other_processes(standin):
    import requests

    standin.client().converse(modelId=CHAT_MODEL, messages=_question("record me"))
    body = requests.get(standin.endpoint + "/_standin/requests", timeout=10).json()
    assert [r["operation"] for r in body["requests"]] == ["Converse"]
    assert "authorization" not in {k.lower() for k in body["requests"][0]["headers"]}
    assert "record me" in json.dumps(body["requests"][0]["body"])

