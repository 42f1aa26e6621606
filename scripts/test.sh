#!/usr/bin/env bash
# Set up and run every test tier (unit, validate, entrypoint, emulator, integration) in one pytest
# process, then the linters (ruff, mypy, checkov on every synthesized stack, hadolint, shellcheck, actionlint).
#
#   bash scripts/test.sh                    # everything
#   bash scripts/test.sh tests/unit         # one tier (arguments go to pytest; linters are skipped)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AJUDA_ROOT"

ensure_venv
ensure_cdktf_cli
discover_provider_mirror
if [ "${CI:-}" = "true" ]; then
  command -v terraform >/dev/null || die "CI: terraform is not on PATH"
  [ -n "${AJUDA_PROVIDER_MIRROR:-}" ] || die "CI: no Terraform provider mirror (set AJUDA_PROVIDER_MIRROR)"
fi

if [ "$#" -gt 0 ]; then
  exec python -m pytest "$@"
fi

log "preparing the integration tier (Redis, Open WebUI in its own virtualenv)"
integration_exports="$(bash "$AJUDA_ROOT/scripts/integration-env.sh")"
eval "$integration_exports"

log "running the test tiers"
python -m pytest -ra --durations=25 tests/unit tests/validate tests/entrypoint tests/emulator tests/integration

# ruff over the whole repository, from the project's .venv (rules in pyproject.toml); ~1 s.
run_ruff() { log "linting Python (ruff)"; "$AJUDA_ROOT/.venv/bin/ruff" check "$AJUDA_ROOT"; }
run_ruff
# Strict typing on config/ and modules/ (settings in pyproject.toml); ~15 s cold.
run_mypy() { log "type-checking config/ and modules/ (mypy)"; python -m mypy; }
run_mypy

log "synthesizing every environment for the linters"
python main.py
# shellcheck source=.ci/lint-tools.sh
source "$AJUDA_ROOT/.ci/lint-tools.sh" .venv-tools
mapfile -t stacks < <(find cdktf.out/stacks -mindepth 1 -maxdepth 1 -type d | sort)
run_checkov "${stacks[@]}"
run_hadolint Dockerfile docker/gateway/Dockerfile
run_shellcheck
run_actionlint
log "all tests and linters passed"
