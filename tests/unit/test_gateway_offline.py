"""The gateway never downloads at start: LiteLLM keeps to the price map inside the pinned package."""

from config.model import ModelsConfig
from modules import model_gateway


def test_litellm_uses_its_packaged_model_cost_map():
    """Without LITELLM_LOCAL_MODEL_COST_MAP=True LiteLLM fetches model_prices_and_context_window.json
    from raw.githubusercontent.com at every start (the integration tier's egress sink recorded it)."""
    settings = model_gateway.GatewaySettings(models=ModelsConfig(), port=4000, master_key_secret_arn="arn")
    assert model_gateway.container_environment(settings)["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
