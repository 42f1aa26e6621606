"""The pure halves of the model wiring (no synthesis): Open WebUI's model settings and the gateway's
LiteLLM config, checked against the open-webui 0.12.4 source they cite."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from config.environments import PROD
from modules import model_gateway, open_webui

BASE = dict(public_url="https://chat.example.tl", aws_region="us-east-1", documents_bucket="b", database_host="db",
            database_port="5432", database_name="openwebui", database_credentials_secret_arn="arn:db",
            webui_secret_key_secret_arn="arn:webui")
GATEWAY = dict(model_gateway_url="http://gw.internal/v1", model_gateway_key_secret_arn="arn:key",
               chat_models=("Nova Lite", "Nova Pro"), default_model="Nova Lite", embedding_model="embeddings",
               embedding_dimension=1024)


def test_without_a_gateway_both_connections_stay_off():
    env = open_webui.container_environment(open_webui.OpenWebUISettings(**BASE))
    assert env["ENABLE_OPENAI_API"] == "false" and env["ENABLE_OLLAMA_API"] == "false"
    assert "RAG_EMBEDDING_ENGINE" not in env and "OPENAI_API_KEYS" not in open_webui.container_secrets(
        open_webui.OpenWebUISettings(**BASE))


def test_gateway_settings_switch_chat_and_retrieval_to_it():
    settings = open_webui.OpenWebUISettings(**BASE, **GATEWAY)
    env = open_webui.container_environment(settings)
    assert env["ENABLE_OPENAI_API"] == "true" and env["OPENAI_API_BASE_URLS"] == "http://gw.internal/v1"
    # config.py:343-348 split both lists on ";": one URL, one key.
    assert ";" not in env["OPENAI_API_BASE_URLS"]
    assert json.loads(env["OPENAI_API_CONFIGS"])["0"]["model_ids"] == ["Nova Lite", "Nova Pro"]
    assert env["RAG_EMBEDDING_ENGINE"] == "openai" and env["PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH"] == "1024"
    secrets = open_webui.container_secrets(settings)
    assert secrets["OPENAI_API_KEYS"] == secrets["RAG_OPENAI_API_KEY"] == "arn:key"
    assert "arn:key" in open_webui.secret_arns(settings)
    assert not any("arn:key" in value for value in env.values())


@pytest.mark.parametrize("broken, message", [
    (dict(model_gateway_key_secret_arn=None), "go together"),
    (dict(default_model="GPT"), "default_model among them"),
    (dict(embedding_model=None), "embedding_model"),
    (dict(embedding_dimension=3072), "1..2000"),
])
def test_incomplete_gateway_settings_are_refused(broken, message):
    with pytest.raises(ValueError, match=message):
        open_webui.OpenWebUISettings(**BASE, **{**GATEWAY, **broken})


def test_requests_per_minute_caps_every_served_model():
    config = model_gateway.litellm_config(replace(PROD.models, requests_per_minute=60))
    assert {m["litellm_params"]["rpm"] for m in config["model_list"]} == {60}
    assert all("rpm" not in m["litellm_params"] for m in model_gateway.litellm_config(PROD.models)["model_list"])


def test_gateway_environment_holds_no_secret_and_the_key_is_a_reference():
    settings = model_gateway.GatewaySettings(models=PROD.models, port=4000, master_key_secret_arn="arn:key")
    env = model_gateway.container_environment(settings)
    assert "arn:key" not in json.dumps(env)
    assert model_gateway.container_secrets(settings) == {"LITELLM_MASTER_KEY": "arn:key"}
    # What a test bench may replace are endpoints and credentials, none of them synthesized.
    assert not set(model_gateway.ENDPOINT_SETTINGS) & set(env)


def test_alarm_keys_are_valid_alarm_name_parts():
    keys = [key for key, _ in model_gateway.alarm_models(PROD.models)]
    assert keys == ["nova-lite", "nova-pro", "claude-3.5-haiku", "embeddings"]
    assert all(" " not in key for key in keys)
