#!/bin/sh
# Model gateway entrypoint: LiteLLM's proxy with the configuration from the task definition.
#
# The model list arrives as JSON in AJUDA_GATEWAY_CONFIG (rendered by modules/model_gateway.py;
# JSON is YAML, which LiteLLM reads). It is written to AJUDA_GATEWAY_CONFIG_FILE on the task's
# scratch volume (the root filesystem is read-only), then LiteLLM replaces this shell.
# The master key stays in the environment (LITELLM_MASTER_KEY, an ECS secret); the file names it
# as os.environ/LITELLM_MASTER_KEY, so no secret is ever written to disk.
set -eu

die() { printf 'gateway-entrypoint: error: %s\n' "$*" >&2; exit 64; }

[ -n "${AJUDA_GATEWAY_CONFIG:-}" ] || die "AJUDA_GATEWAY_CONFIG is not set"
[ -n "${LITELLM_MASTER_KEY:-}" ] || die "LITELLM_MASTER_KEY is not set"
config_file="${AJUDA_GATEWAY_CONFIG_FILE:-/tmp/litellm-config.json}"
umask 077
printf '%s' "$AJUDA_GATEWAY_CONFIG" > "$config_file"

exec litellm --config "$config_file" --host 0.0.0.0 --port "${PORT:-4000}" "$@"
