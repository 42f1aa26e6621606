"""The model gateway container's contract (LiteLLM proxy in front of Amazon Bedrock).

Pure Python (no cdktf import) like ``modules/open_webui.py``: the construct
(``modules/gateway.py``) puts exactly this into the task definition, and the integration tier
boots the gateway from that synthesized task definition.

The contract
------------
* Image: ``docker/gateway/Dockerfile`` (LiteLLM from ``docker/gateway/requirements.txt``, installed
  with ``--require-hashes``). Entrypoint ``/usr/local/bin/gateway-entrypoint`` (``docker/gateway/
  entrypoint.sh``): writes ``$AJUDA_GATEWAY_CONFIG`` to ``$AJUDA_GATEWAY_CONFIG_FILE`` and execs
  ``litellm --config <file> --host 0.0.0.0 --port $PORT``. The task definition sets no command.
* Port ``PORT`` (4000 unless ``gateway.port`` says otherwise), plain HTTP inside the VPC.
* Liveness: ``GET HEALTH_CHECK_PATH`` (``/health/liveliness``: answers without calling a model;
  LiteLLM's ``/health`` calls every model and must never be a probe).
* Model list: ``AJUDA_GATEWAY_CONFIG``, a JSON (= YAML) LiteLLM config rendered by
  ``litellm_config`` from ``config.model.ModelsConfig``. It holds no secret: the master key is
  referenced as ``os.environ/LITELLM_MASTER_KEY``.
* Secrets (ECS ``secrets``): ``LITELLM_MASTER_KEY`` (Secrets Manager, ``sk-`` + 48 generated
  characters). Open WebUI gets the same secret as ``OPENAI_API_KEYS`` and ``RAG_OPENAI_API_KEY``.
* AWS credentials: none in the task definition. On ECS botocore takes the task role from the
  container credentials endpoint; Bedrock requests are SigV4-signed for service ``bedrock`` in
  ``ModelsConfig.bedrock_region`` (the ``aws_region_name`` of every model in the config).
* Egress: only Bedrock (``LITELLM_LOCAL_MODEL_COST_MAP=True`` stops LiteLLM's price-map download).
* What a test bench replaces (``ENDPOINT_SETTINGS``): only the Bedrock endpoint
  (``AWS_BEDROCK_RUNTIME_ENDPOINT``, read by LiteLLM's Bedrock client, unset in production) and the
  credentials the platform would give the task (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from config.model import ModelsConfig

CONTAINER_NAME = "model-gateway"
HEALTH_CHECK_PATH = "/health/liveliness"
CONFIG_VARIABLE = "AJUDA_GATEWAY_CONFIG"
CONFIG_FILE_VARIABLE = "AJUDA_GATEWAY_CONFIG_FILE"
# The root filesystem is read-only; this is the one writable (task-ephemeral) mount.
SCRATCH_PATH = "/tmp"
CONFIG_FILE = f"{SCRATCH_PATH}/litellm-config.json"
MASTER_KEY_VARIABLE = "LITELLM_MASTER_KEY"
# LiteLLM treats keys without this prefix as something other than an API key (README).
KEY_PREFIX = "sk-"
# The only paths the internal load balancer forwards: what Open WebUI calls under ".../v1".
# Everything else (admin, key management, prompt and guardrail test endpoints, docs) gets 404
# at the load balancer, whatever a future LiteLLM release adds.
FORWARDED_PATHS: tuple[str, ...] = ("/v1/chat/completions", "/v1/embeddings", "/v1/models")
# What a test bench outside AWS may substitute, and why (every other entry runs as synthesized).
ENDPOINT_SETTINGS: dict[str, str] = {
    "AWS_BEDROCK_RUNTIME_ENDPOINT": "not set in production (LiteLLM derives bedrock-runtime.<region>.amazonaws.com)"
                                    " -> the Bedrock Runtime stand-in",
    "AWS_ACCESS_KEY_ID": "task role credentials (ECS credentials endpoint) -> stand-in keys",
    "AWS_SECRET_ACCESS_KEY": "task role credentials (ECS credentials endpoint) -> stand-in keys",
}
# The public name under which the gateway serves the embedding model (not shown to users:
# Open WebUI lists only the chat models, see open_webui.model_environment).
EMBEDDING_MODEL_NAME = "embeddings"


@dataclass(frozen=True)
class GatewaySettings:
    models: ModelsConfig
    port: int
    master_key_secret_arn: str


def bedrock_model_route(model_id: str, kind: str = "chat") -> str:
    """LiteLLM's model string: chat through the Converse API (one request shape for every
    provider), embeddings through InvokeModel (Titan has no Converse form)."""
    return f"bedrock/converse/{model_id}" if kind == "chat" else f"bedrock/{model_id}"


def litellm_config(models: ModelsConfig) -> dict[str, Any]:
    """The LiteLLM proxy config (model list and settings) for ``models``; no secret in it."""
    region = models.bedrock_region

    def params(route: str) -> dict[str, Any]:
        result: dict[str, Any] = {"model": route, "aws_region_name": region}
        if models.requests_per_minute:
            result["rpm"] = models.requests_per_minute
        return result

    model_list = [{"model_name": m.name, "litellm_params": params(bedrock_model_route(m.id))}
                  for m in models.chat_models]
    embedding = params(bedrock_model_route(models.embedding_model, kind="embedding"))
    embedding["dimensions"] = models.embedding_dimension
    model_list.append({"model_name": EMBEDDING_MODEL_NAME, "litellm_params": embedding,
                       "model_info": {"mode": "embedding"}})
    return {
        "model_list": model_list,
        "litellm_settings": {
            # Open WebUI sends OpenAI parameters some Bedrock models reject; drop instead of failing.
            "drop_params": True,
            # Same ceiling as Open WebUI's AIOHTTP_CLIENT_TIMEOUT and the public ALB idle timeout.
            "request_timeout": 300,
        },
        "general_settings": {
            "master_key": f"os.environ/{MASTER_KEY_VARIABLE}",
            # No database: no virtual keys, spend logs or UI users (README: per-user limits).
            "disable_spend_logs": True,
        },
    }


def container_environment(s: GatewaySettings) -> dict[str, str]:
    """Plain environment of the gateway container. Contains no secret value."""
    return {
        CONFIG_VARIABLE: json.dumps(litellm_config(s.models), sort_keys=True, separators=(",", ":")),
        CONFIG_FILE_VARIABLE: CONFIG_FILE,
        "PORT": str(s.port),
        # botocore's default Region; the config names it per model as well.
        "AWS_REGION": s.models.bedrock_region,
        "AWS_DEFAULT_REGION": s.models.bedrock_region,
        # No admin UI and no OpenAPI pages: nothing but the model API is served.
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
        "NO_REDOC": "True",
        # LiteLLM otherwise downloads its model price map from GitHub at every start (seen booting
        # the pinned release offline: three retries, ~10 s); the packaged copy is enough.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "INFO",
        "JSON_LOGS": "true",  # one CloudWatch event per log record (litellm/_logging.py)
        "HOME": SCRATCH_PATH,
    }


def container_secrets(s: GatewaySettings) -> dict[str, str]:
    return {MASTER_KEY_VARIABLE: s.master_key_secret_arn}


def base_url(host: str) -> str:
    """The OpenAI-compatible base URL clients use (Open WebUI appends /chat/completions etc.)."""
    return f"http://{host}/v1"


def alarm_models(models: ModelsConfig) -> tuple[tuple[str, str], ...]:
    """(alarm key, Bedrock ModelId) for every model the gateway invokes; the key is the served name
    in lower case with spaces as hyphens ("Nova Lite" -> "nova-lite")."""
    served = [(m.name, m.id) for m in models.chat_models] + [(EMBEDDING_MODEL_NAME, models.embedding_model)]
    return tuple((name.lower().replace(" ", "-"), model_id) for name, model_id in served)
