"""A local Amazon Bedrock Runtime on 127.0.0.1 that speaks the real wire protocol.

What the gateway (LiteLLM) or boto3's ``bedrock-runtime`` client sends to Bedrock reaches this
server unchanged, and what comes back is what Bedrock sends:

* ``POST /model/{modelId}/converse``: Converse, a JSON answer (``output.message``, ``stopReason``,
  ``usage``, ``metrics``).
* ``POST /model/{modelId}/converse-stream``: ConverseStream, ``application/vnd.amazon.eventstream``
  framing (prelude, headers, payload, CRC32s) over chunked HTTP, one frame per event:
  ``messageStart``, ``contentBlockDelta`` (one per chunk, ``chunk_delay`` seconds apart so that
  streaming is observable), ``contentBlockStop``, ``messageStop``, ``metadata``.
* ``POST /model/{modelId}/invoke``: InvokeModel, for Titan Text Embeddings V2 only
  (``amazon.titan-embed-text-v2:0``): request ``inputText``/``dimensions``/``normalize``
  (/``embeddingTypes``), response ``embedding`` + ``inputTextTokenCount`` (+ ``embeddingsByType``).

Every request must carry a valid SigV4 signature for service ``bedrock`` and the configured region,
made with the credentials this server hands out (``credentials``; also served, the way ECS serves a
task role's, at a container credentials endpoint: ``client_environment()``). The signature is
recomputed with botocore's own SigV4 code. Bad ones get Bedrock's error shape: HTTP 403,
``x-amzn-ErrorType`` and ``{"message": ...}``. With ``policy`` set (the IAM statements of the
caller's role, e.g. the gateway task role's synthesized policy), each call is also authorized as IAM
would: ``bedrock:InvokeModel`` for Converse/InvokeModel, ``bedrock:InvokeModelWithResponseStream``
for ConverseStream, on the model's ARN; otherwise ``AccessDeniedException``.

Every request is recorded (``requests``; over HTTP at ``GET /_standin/requests``), accepted or not.
Answers are deterministic: ``answer_chunks(text)`` for the last user message's text.

Also a command for scripts: ``python -m tests.support.bedrock_standin serve --state-file F``
runs it until SIGTERM and writes its endpoint and client environment to F.
"""

from __future__ import annotations

import argparse
import binascii
import datetime as _dt
import fnmatch
import hashlib
import json
import math
import re
import secrets
import signal
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LOCALHOST = "127.0.0.1"
SERVICE = "bedrock"
EVENTSTREAM = "application/vnd.amazon.eventstream"
TITAN_EMBED_V2 = "amazon.titan-embed-text-v2:0"
TITAN_V2_DIMENSIONS = (256, 512, 1024)
TITAN_V2_MAX_CHARS = 50_000
# AWS refuses a signature whose X-Amz-Date is more than 15 minutes off its clock.
MAX_CLOCK_SKEW = _dt.timedelta(minutes=15)
CONTROL_PREFIX = "/_standin"
CREDENTIALS_PATH = CONTROL_PREFIX + "/credentials"
# Inference profile ids are a foundation model id behind a geography prefix.
INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "global.", "jp.", "au.", "ca.")

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$")
_OPERATION = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream|invoke)$")
OPERATIONS = {"converse": "Converse", "converse-stream": "ConverseStream", "invoke": "InvokeModel"}
# The IAM action each operation is authorized as (Bedrock User Guide, "Carry out a conversation with
# the Converse API operations": Converse needs InvokeModel, ConverseStream InvokeModelWithResponseStream).
IAM_ACTIONS = {"Converse": "bedrock:InvokeModel", "ConverseStream": "bedrock:InvokeModelWithResponseStream",
               "InvokeModel": "bedrock:InvokeModel"}


# ---------------------------------------------------------------------------------------------
# The AWS event-stream encoding (the binary framing of application/vnd.amazon.eventstream)
# ---------------------------------------------------------------------------------------------

_STRING_HEADER = 7


def encode_headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack("!B", len(raw_name)) + raw_name
        out += struct.pack("!BH", _STRING_HEADER, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One frame: total length, headers length, prelude CRC32, headers, payload, message CRC32."""
    encoded_headers = encode_headers(headers)
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded_headers))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded_headers + payload
    return message + struct.pack("!I", binascii.crc32(message) & 0xFFFFFFFF)


def event_frame(event_type: str, body: dict) -> bytes:
    return encode_message({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
                          json.dumps(body, separators=(",", ":")).encode())


def exception_frame(exception_type: str, message: str) -> bytes:
    return encode_message({":exception-type": exception_type, ":content-type": "application/json",
                           ":message-type": "exception"}, json.dumps({"message": message}).encode())


# ---------------------------------------------------------------------------------------------
# Deterministic model behaviour
# ---------------------------------------------------------------------------------------------

ANSWER_PARTS = 12


def reference(text: str) -> str:
    """A short tag of the question, carried in the answer: which answer belongs to which question."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def answer_chunks(text: str, parts: int = ANSWER_PARTS) -> list[str]:
    """The streamed answer to a question: numbered, so order and completeness are checkable."""
    chunks = ["Ajuda ", "Digital ", "stand-in ", f"answer [{reference(text)}]:"]
    chunks += [f" part-{i:02d}" for i in range(1, parts + 1)]
    chunks[-1] += "."
    return chunks


def count_tokens(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text))


def embed(text: str, dimensions: int = 1024, normalize: bool = True) -> list[float]:
    """Feature hashing of the words: texts sharing words are close, so retrieval ranks for real."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        index = int.from_bytes(digest[:4], "big") % dimensions
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    if normalize:
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        vector = [v / norm for v in vector]
    return vector


def message_text(message: dict) -> str:
    return "\n".join(block["text"] for block in message.get("content", []) if isinstance(block, dict) and "text" in block)


def last_user_text(body: dict) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return message_text(users[-1]) if users else ""


def prompt_text(body: dict) -> str:
    """Everything the model was given as text: system blocks and every message."""
    parts = [block.get("text", "") for block in body.get("system", []) if isinstance(block, dict)]
    parts += [message_text(m) for m in body.get("messages", [])]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Errors in Bedrock's shape
# ---------------------------------------------------------------------------------------------

class BedrockError(Exception):
    STATUS = {
        "AccessDeniedException": 403, "UnrecognizedClientException": 403, "InvalidSignatureException": 403,
        "MissingAuthenticationTokenException": 403, "IncompleteSignatureException": 403,
        "ValidationException": 400, "ResourceNotFoundException": 404, "ThrottlingException": 429,
        "ServiceUnavailableException": 503, "InternalServerException": 500, "ModelTimeoutException": 408,
    }

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return self.STATUS[self.code]


# ---------------------------------------------------------------------------------------------
# IAM: the subset needed to evaluate a role's identity policy for Bedrock calls
# ---------------------------------------------------------------------------------------------

def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _iam_match(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run of characters (also across ':' and '/'), ? one character. Actions
    # compare case-insensitively, ARNs case-sensitively.
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def policy_allows(statements: Iterable[dict], action: str, resources: Iterable[str]) -> bool:
    """Identity-policy evaluation: an explicit Deny wins, else every resource needs an Allow."""
    statements = list(statements)
    resources = list(resources)

    def applies(statement: dict, resource: str) -> bool:
        actions = [a.lower() for a in _as_list(statement.get("Action", []))]
        if not any(_iam_match(a, action.lower()) for a in actions):
            return False
        return any(_iam_match(r, resource) for r in _as_list(statement.get("Resource", [])))

    for resource in resources:
        if any(s.get("Effect") == "Deny" and applies(s, resource) for s in statements):
            return False
        if not any(s.get("Effect") == "Allow" and applies(s, resource) for s in statements):
            return False
    return True


def model_resources(model_id: str, region: str, account: str) -> list[str]:
    """The ARNs IAM checks for a call on ``model_id`` (an id or an ARN).

    An inference profile needs the profile and the foundation model it routes to (the stand-in
    checks the model in its own region; a cross-Region profile routes to several).
    """
    if model_id.startswith("arn:"):
        if ":inference-profile/" in model_id:
            profile = model_id.rsplit("/", 1)[1]
            base = profile.split(".", 1)[1]
            return [model_id, f"arn:aws:bedrock:{region}::foundation-model/{base}"]
        return [model_id]
    if model_id.startswith(INFERENCE_PROFILE_PREFIXES):
        base = model_id.split(".", 1)[1]
        return [f"arn:aws:bedrock:{region}:{account}:inference-profile/{model_id}",
                f"arn:aws:bedrock:{region}::foundation-model/{base}"]
    return [f"arn:aws:bedrock:{region}::foundation-model/{model_id}"]


def base_model_id(model_id: str) -> str:
    """``us.amazon.nova-lite-v1:0`` / its ARN / the foundation model ARN -> ``amazon.nova-lite-v1:0``."""
    if model_id.startswith("arn:"):
        model_id = model_id.rsplit("/", 1)[1]
    if model_id.startswith(INFERENCE_PROFILE_PREFIXES):
        model_id = model_id.split(".", 1)[1]
    return model_id


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------

@dataclass
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    role_arn: str

    @classmethod
    def generate(cls, account: str, role: str) -> Credentials:
        return cls(access_key_id="ASIA" + secrets.token_hex(8).upper(), secret_access_key=secrets.token_urlsafe(30),
                   session_token=secrets.token_urlsafe(48), role_arn=f"arn:aws:sts::{account}:assumed-role/{role}/task")


@dataclass
class RecordedRequest:
    id: str
    operation: str | None
    model_id: str | None
    path: str
    headers: dict[str, str]
    body: dict | None
    raw_body_bytes: int
    received: float
    status: int = 0
    error_code: str | None = None
    error_message: str | None = None
    access_key_id: str | None = None
    signing_region: str | None = None
    signing_service: str | None = None
    chunks: list[str] = field(default_factory=list)
    chunk_times: list[float] = field(default_factory=list)
    finished: float | None = None

    @property
    def prompt(self) -> str:
        return prompt_text(self.body or {})

    @property
    def answer(self) -> str:
        return "".join(self.chunks)


class BedrockStandIn:
    """``start()``, then point clients at ``endpoint`` with ``client_environment()``; ``stop()``."""

    def __init__(self, region: str = "us-east-1", *, account: str = "123456789012", role: str = "bedrock-gateway-task",
                 chunk_delay: float = 0.02, answer: Callable[[str], list[str]] = answer_chunks,
                 chat_models: Iterable[str] | None = None, policy: list[dict] | None = None,
                 port: int = 0) -> None:
        self.region = region
        self.account = account
        self.chunk_delay = chunk_delay
        self.answer = answer
        # None: any chat model id is served (Bedrock's catalogue is large); else only these (base ids).
        self.chat_models = None if chat_models is None else {base_model_id(m) for m in chat_models}
        self.policy = policy
        self.credentials = Credentials.generate(account, role)
        self.credentials_token = secrets.token_urlsafe(24)
        self.requests: list[RecordedRequest] = []
        self.credential_fetches = 0
        self._faults: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOCALHOST, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def credentials_uri(self) -> str:
        return self.endpoint + CREDENTIALS_PATH

    def start(self) -> BedrockStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, name="bedrock-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=10)

    def __enter__(self) -> BedrockStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def client_environment(self) -> dict[str, str]:
        """What a process needs to reach this Bedrock as a task reaches the real one.

        The credentials come as ECS gives a task role's: from a container credentials endpoint
        (``AWS_CONTAINER_CREDENTIALS_FULL_URI`` + its authorization token), never as static keys.
        """
        return {
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.endpoint,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": self.credentials_uri,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": self.credentials_token,
        }

    def client(self, **overrides):
        """A boto3 ``bedrock-runtime`` client signed with the handed-out credentials."""
        import boto3
        from botocore.config import Config

        kwargs = dict(region_name=self.region, endpoint_url=self.endpoint,
                      aws_access_key_id=self.credentials.access_key_id,
                      aws_secret_access_key=self.credentials.secret_access_key,
                      aws_session_token=self.credentials.session_token,
                      config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60))
        kwargs.update(overrides)
        return boto3.client("bedrock-runtime", **kwargs)

    # -- behaviour switches ------------------------------------------------------------------

    def fail_next(self, code: str = "ThrottlingException", message: str = "Too many requests, please wait before trying again.",
                  times: int = 1) -> None:
        """The next ``times`` model calls fail with this Bedrock error (after authentication)."""
        with self._lock:
            self._faults.extend([(code, message)] * times)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def recorded(self, operation: str | None = None, accepted: bool | None = None) -> list[RecordedRequest]:
        with self._lock:
            items = list(self.requests)
        if operation is not None:
            items = [r for r in items if r.operation == operation]
        if accepted is not None:
            items = [r for r in items if (r.status == 200) == accepted]
        return items

    # -- request handling --------------------------------------------------------------------

    def _take_fault(self) -> tuple[str, str] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(record)

    def verify_signature(self, method: str, raw_path: str, headers: dict[str, str], body: bytes,
                         now: _dt.datetime | None = None) -> tuple[str, str, str]:
        """Recompute the SigV4 signature with botocore; returns (access key, region, service) or raises."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials as BotoCredentials

        lower = {k.lower(): v for k, v in headers.items()}
        authorization = (lower.get("authorization") or "").strip()
        if not authorization:
            raise BedrockError("MissingAuthenticationTokenException", "Missing Authentication Token")
        if authorization.startswith("Bearer "):
            # Bedrock API keys exist, but the deployment uses the task role only: no static keys.
            raise BedrockError("AccessDeniedException", "Bearer tokens (Bedrock API keys) are not accepted here.")
        match = _AUTHORIZATION.match(authorization)
        if not match:
            raise BedrockError("IncompleteSignatureException",
                               "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
        key, date, region, service = match["key"], match["date"], match["region"], match["service"]
        if key != self.credentials.access_key_id:
            raise BedrockError("UnrecognizedClientException", "The security token included in the request is invalid.")
        if lower.get("x-amz-security-token") != self.credentials.session_token:
            raise BedrockError("UnrecognizedClientException", "The security token included in the request is invalid.")
        if service != SERVICE:
            raise BedrockError("InvalidSignatureException", f"Credential should be scoped to correct service: '{SERVICE}'. ")
        if region != self.region:
            raise BedrockError("InvalidSignatureException", "Credential should be scoped to a valid region. ")
        amz_date = lower.get("x-amz-date", "")
        try:
            signed_at = _dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.UTC)
        except ValueError:
            raise BedrockError("InvalidSignatureException", "Missing or invalid X-Amz-Date header.") from None
        now = now or _dt.datetime.now(_dt.UTC)
        if abs(now - signed_at) > MAX_CLOCK_SKEW:
            raise BedrockError("InvalidSignatureException",
                               f"Signature expired: {amz_date} is now earlier than "
                               f"{(now - MAX_CLOCK_SKEW).strftime('%Y%m%dT%H%M%SZ')}")
        if date != amz_date[:8]:
            raise BedrockError("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP")
        signed_names = match["signed"].split(";")
        if "host" not in signed_names:
            raise BedrockError("InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
        missing = [n for n in signed_names if n not in lower]
        if missing:
            raise BedrockError("InvalidSignatureException", f"Signed header(s) missing from the request: {missing}")
        request = AWSRequest(method=method, url=f"http://{lower['host']}{raw_path}",
                             headers={n: lower[n] for n in signed_names}, data=body)
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(BotoCredentials(key, self.credentials.secret_access_key, self.credentials.session_token),
                           service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if not secrets.compare_digest(expected, match["signature"]):
            raise BedrockError("InvalidSignatureException",
                               "The request signature we calculated does not match the signature you provided. "
                               "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
        return key, region, service

    def authorize(self, operation: str, model_id: str) -> None:
        if self.policy is None:
            return
        action = IAM_ACTIONS[operation]
        resources = model_resources(model_id, self.region, self.account)
        if not policy_allows(self.policy, action, resources):
            raise BedrockError("AccessDeniedException",
                               f"User: {self.credentials.role_arn} is not authorized to perform: {action} on resource: "
                               f"{resources[0]} because no identity-based policy allows the {action} action")

    def _handler_class(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "BedrockStandIn"
            sys_version = ""

            def log_message(self, format, *args):
                pass

            def _send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _send_error(self, error: BedrockError) -> None:
                self._send_json(error.status, {"message": error.message}, {"x-amzn-ErrorType": f"{error.code}:http://internal.amazon.com/coral/com.amazon.bedrock/"})

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def do_GET(self):
                path = urlsplit(self.path).path
                if path == CREDENTIALS_PATH:
                    return self._credentials()
                if path == CONTROL_PREFIX + "/requests":
                    return self._send_json(200, {"requests": [asdict(r) for r in standin.recorded()]})
                self._send_json(404, {"message": "Not Found"}, {"x-amzn-ErrorType": "UnknownOperationException"})

            def _credentials(self):
                # ECS's endpoint answers only with the task's authorization token.
                if self.headers.get("Authorization") != standin.credentials_token:
                    return self._send_json(401, {"message": "unauthorized"})
                standin.credential_fetches += 1
                creds = standin.credentials
                expiration = _dt.datetime.now(_dt.UTC) + _dt.timedelta(hours=6)
                self._send_json(200, {"AccessKeyId": creds.access_key_id, "SecretAccessKey": creds.secret_access_key,
                                      "Token": creds.session_token, "RoleArn": creds.role_arn,
                                      "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")})

            def do_POST(self):
                raw_path = urlsplit(self.path).path
                body = self._body()
                if raw_path.startswith(CONTROL_PREFIX):
                    return self._control(raw_path, body)
                match = _OPERATION.match(raw_path)
                record = RecordedRequest(
                    id=str(uuid.uuid4()), operation=OPERATIONS[match["op"]] if match else None,
                    model_id=unquote(match["model"]) if match else None, path=raw_path,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "x-amz-security-token")},
                    body=None, raw_body_bytes=len(body), received=time.monotonic())
                try:
                    record.body = json.loads(body) if body else {}
                except ValueError:
                    record.body = None
                standin._record(record)
                try:
                    record.access_key_id, record.signing_region, record.signing_service = standin.verify_signature(
                        "POST", raw_path, dict(self.headers.items()), body)
                    if not match:
                        raise BedrockError("ResourceNotFoundException", f"Unknown operation {raw_path}")
                    if record.body is None or not isinstance(record.body, dict):
                        raise BedrockError("ValidationException", "Malformed input request, please reformat your input and try again.")
                    standin.authorize(record.operation, record.model_id)
                    if record.operation == "InvokeModel":
                        return self._invoke(record)
                    self._validate_converse(record)
                    fault = standin._take_fault()
                    if fault:
                        raise BedrockError(*fault)
                    if record.operation == "Converse":
                        return self._converse(record)
                    return self._converse_stream(record)
                except BedrockError as error:
                    record.status, record.error_code, record.error_message = error.status, error.code, error.message
                    record.finished = time.monotonic()
                    self._send_error(error)

            def _control(self, path: str, body: bytes):
                options = json.loads(body or b"{}")
                if path == CONTROL_PREFIX + "/reset":
                    standin.reset()
                elif path == CONTROL_PREFIX + "/config":
                    if "chunk_delay" in options:
                        standin.chunk_delay = float(options["chunk_delay"])
                    if "fail_next" in options:
                        standin.fail_next(**options["fail_next"])
                else:
                    return self._send_json(404, {"message": "Not Found"})
                self._send_json(200, {"chunk_delay": standin.chunk_delay})

            def _validate_converse(self, record: RecordedRequest) -> None:
                model = base_model_id(record.model_id)
                if model == TITAN_EMBED_V2 or (standin.chat_models is not None and model not in standin.chat_models):
                    raise BedrockError("ValidationException", "The provided model identifier is invalid.")
                messages = record.body.get("messages")
                if not isinstance(messages, list) or not messages:
                    raise BedrockError("ValidationException", "A conversation must start with a user message. Try again with a conversation that starts with a user message.")
                if messages[0].get("role") != "user":
                    raise BedrockError("ValidationException", "A conversation must start with a user message. Try again with a conversation that starts with a user message.")
                for before, after in zip(messages, messages[1:], strict=False):
                    if before.get("role") == after.get("role"):
                        raise BedrockError("ValidationException", "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.")

            def _usage(self, record: RecordedRequest) -> dict:
                inputs, outputs = count_tokens(record.prompt), count_tokens(record.answer)
                return {"inputTokens": inputs, "outputTokens": outputs, "totalTokens": inputs + outputs}

            def _converse(self, record: RecordedRequest) -> None:
                record.chunks = standin.answer(last_user_text(record.body))
                record.status, record.finished = 200, time.monotonic()
                self._send_json(200, {
                    "output": {"message": {"role": "assistant", "content": [{"text": record.answer}]}},
                    "stopReason": "end_turn", "usage": self._usage(record),
                    "metrics": {"latencyMs": int((record.finished - record.received) * 1000)},
                })

            def _converse_stream(self, record: RecordedRequest) -> None:
                chunks = standin.answer(last_user_text(record.body))
                record.status = 200
                self.send_response(200)
                self.send_header("Content-Type", EVENTSTREAM)
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                self.end_headers()
                try:
                    self._write_chunk(event_frame("messageStart", {"role": "assistant"}))
                    for chunk in chunks:
                        if standin.chunk_delay:
                            time.sleep(standin.chunk_delay)
                        self._write_chunk(event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": chunk}}))
                        record.chunks.append(chunk)
                        record.chunk_times.append(time.monotonic())
                    self._write_chunk(event_frame("contentBlockStop", {"contentBlockIndex": 0}))
                    self._write_chunk(event_frame("messageStop", {"stopReason": "end_turn"}))
                    self._write_chunk(event_frame("metadata", {
                        "usage": self._usage(record),
                        "metrics": {"latencyMs": int((time.monotonic() - record.received) * 1000)}}))
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    record.error_code = "ClientDisconnected"
                finally:
                    record.finished = time.monotonic()

            def _write_chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _invoke(self, record: RecordedRequest) -> None:
                if base_model_id(record.model_id) != TITAN_EMBED_V2:
                    raise BedrockError("ValidationException", "The provided model identifier is invalid.")
                body = record.body
                text = body.get("inputText")
                unknown = set(body) - {"inputText", "dimensions", "normalize", "embeddingTypes"}
                if unknown:
                    raise BedrockError("ValidationException", f"Malformed input request: extraneous key [{sorted(unknown)[0]}] is not permitted, please reformat your input and try again.")
                if not isinstance(text, str):
                    raise BedrockError("ValidationException", "Malformed input request: #: required key [inputText] not found, please reformat your input and try again.")
                if not 1 <= len(text) <= TITAN_V2_MAX_CHARS:
                    raise BedrockError("ValidationException", f"Malformed input request: #/inputText: expected minLength: 1, actual: {len(text)}, please reformat your input and try again.")
                dimensions = body.get("dimensions", 1024)
                if dimensions not in TITAN_V2_DIMENSIONS:
                    raise BedrockError("ValidationException", f"Malformed input request: #/dimensions: {dimensions} is not a valid enum value, please reformat your input and try again.")
                fault = standin._take_fault()
                if fault:
                    raise BedrockError(*fault)
                vector = embed(text, dimensions, bool(body.get("normalize", True)))
                answer = {"embedding": vector, "inputTextTokenCount": count_tokens(text)}
                if "embeddingTypes" in body:
                    answer["embeddingsByType"] = {"float": vector}
                record.status, record.finished = 200, time.monotonic()
                self._send_json(200, answer)

        return Handler


# ---------------------------------------------------------------------------------------------
# As a process (scripts/local.sh, the bench)
# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run until SIGTERM/SIGINT")
    serve.add_argument("--region", default="us-east-1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--chunk-delay", type=float, default=0.05)
    serve.add_argument("--policy-file", help="JSON list of IAM statements to enforce")
    serve.add_argument("--state-file", required=True, help="where to write the endpoint and the client environment")
    args = parser.parse_args(argv)
    policy = json.loads(Path(args.policy_file).read_text()) if args.policy_file else None
    standin = BedrockStandIn(args.region, chunk_delay=args.chunk_delay, policy=policy, port=args.port).start()
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    state = Path(args.state_file)
    state.write_text(json.dumps({"endpoint": standin.endpoint, "region": standin.region,
                                 "environment": standin.client_environment()}))
    print(standin.endpoint, flush=True)
    stopped.wait()
    standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
