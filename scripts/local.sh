#!/usr/bin/env bash
# The main job: deploy Ajuda Digital to a local AWS emulator (moto on 127.0.0.1), as an operator
# would deploy to AWS: synthesize, `cdktf deploy` the bootstrap stack (state bucket + lock table),
# then `cdktf deploy` the application stack with its state in that bucket and its lock in that table.
#
#   bash scripts/local.sh up       # set up, start the emulator, deploy, print the outputs
#   bash scripts/local.sh plan     # a fresh plan of the deployed stack (exit 2 = changes)
#   bash scripts/local.sh down     # destroy both stacks and stop the emulator (and the app)
#   bash scripts/local.sh app      # after `up`: run the deployed app (its task definitions, secrets and
#                                  # bucket from the emulator): 2 Open WebUI replicas, the model gateway,
#                                  # a Bedrock stand-in (tests/integration/local_app.py); prints the URL
#
# Everything it creates lives under .local/ (AJUDA_LOCAL_DIR): the emulator's log, the
# synthesized stacks (.local/cdktf.out, apart from the repository's cdktf.out), the bootstrap
# state, the outputs and the full cdktf/Terraform log of the last run of each command
# (.local/up.log, plan.log, down.log); the terminal gets one line per step (scripts/steps.sh).
# tests/emulator runs this same script in a scratch AJUDA_LOCAL_DIR.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/steps.sh"

LOCAL_DIR="$(mkdir -p "${AJUDA_LOCAL_DIR:-$AJUDA_ROOT/.local}" && cd "${AJUDA_LOCAL_DIR:-$AJUDA_ROOT/.local}" && pwd)"
OUT_DIR="$LOCAL_DIR/cdktf.out"
STACK=ajuda-local
BOOTSTRAP=local-bootstrap
export AJUDA_ENVIRONMENTS=local
export AJUDA_BOOTSTRAP_STATE_DIR="$LOCAL_DIR/state"
# The emulator takes any credentials; fixed dummies keep real ones out of every call.
export AWS_ACCESS_KEY_ID=emulator AWS_SECRET_ACCESS_KEY=emulator AWS_DEFAULT_REGION=us-east-1
export CI="${CI:-}"

setup() {
  ensure_venv
  ensure_cdktf_cli
  command -v terraform >/dev/null || die "terraform is required on PATH"
  discover_provider_mirror
  write_terraform_cli_config "$LOCAL_DIR/terraformrc"
  mkdir -p "$AJUDA_BOOTSTRAP_STATE_DIR"
}

emulator_endpoint() {
  python -m tools.emulator endpoint --state-dir "$LOCAL_DIR/moto" 2>/dev/null
}

cdktf_in_project() {
  (cd "$AJUDA_ROOT" && cdktf "$@" --output "$OUT_DIR")
}

cdktf_run() {
  # --skip-provider-lock: the lock step asks the public registry; providers come from the mirror.
  # --skip-synth: every caller has synthesized $OUT_DIR already (a synthesis costs ~25 s).
  cdktf_in_project "$@" --skip-provider-lock --skip-synth --auto-approve
}

up() {
  steps_begin up
  setup
  if ! emulator_endpoint >/dev/null; then
    # A new emulator starts empty: drop state and backend settings left by an earlier one.
    rm -rf "${AJUDA_BOOTSTRAP_STATE_DIR:?}"/* "$LOCAL_DIR/outputs.json" "$OUT_DIR"
  fi
  step "start the AWS emulator" python -m tools.emulator start --state-dir "$LOCAL_DIR/moto"
  AJUDA_EMULATOR_ENDPOINT="$(emulator_endpoint)"
  export AJUDA_EMULATOR_ENDPOINT
  step "synthesize (emulator at $AJUDA_EMULATOR_ENDPOINT)" cdktf_in_project synth
  step "deploy $BOOTSTRAP (state bucket, lock table)" cdktf_run deploy "$BOOTSTRAP"
  step "deploy $STACK (state in S3, lock in DynamoDB)" \
    cdktf_run deploy "$STACK" --outputs-file "$LOCAL_DIR/outputs.json" --outputs-file-include-sensitive-outputs=false
  printf 'full log: %s\n' "$STEP_LOG" >&2
  python - "$LOCAL_DIR/outputs.json" <<'PY'
import json, sys
outputs = json.load(open(sys.argv[1]))
for stack, values in outputs.items():
    for key in ("url", "alb_dns_name", "ecr_repository_url", "db_endpoint", "documents_bucket", "cluster_name", "service_name"):
        if key in values:
            print(f"{stack}.{key} = {values[key]}")
PY
}

plan_json() {
  terraform -chdir="$1" show -json local.tfplan > "$2"
}

plan() {
  steps_begin plan
  setup
  AJUDA_EMULATOR_ENDPOINT="$(emulator_endpoint)" || die "the emulator is not running: bash scripts/local.sh up"
  export AJUDA_EMULATOR_ENDPOINT
  step "synthesize" cdktf_in_project synth
  local stack_dir="$OUT_DIR/stacks/$STACK"
  step "terraform init $STACK" terraform -chdir="$stack_dir" init -input=false -no-color
  STEP_OK_CODES="0 2" step "terraform plan $STACK" \
    terraform -chdir="$stack_dir" plan -input=false -no-color -detailed-exitcode -out=local.tfplan
  local changes=$STEP_STATUS
  step "terraform show $STACK" plan_json "$stack_dir" "$LOCAL_DIR/plan.json"
  printf 'full log: %s\n' "$STEP_LOG" >&2
  # The same summary the pull-request comment shows (tools/plan_summary.py).
  (cd "$AJUDA_ROOT" && python -m tools.plan_summary --stack "$STACK" "$LOCAL_DIR/plan.json")
  return "$changes"
}

app() {
  ensure_venv
  AJUDA_EMULATOR_ENDPOINT="$(emulator_endpoint)" && [ -f "$LOCAL_DIR/outputs.json" ] \
    || die "nothing deployed to run: bash scripts/local.sh up first"
  export AJUDA_EMULATOR_ENDPOINT
  eval "$(bash "$AJUDA_ROOT/scripts/integration-env.sh")"
  (cd "$AJUDA_ROOT" && python -m tests.integration.local_app start --local-dir "$LOCAL_DIR")
}

down() {
  steps_begin down
  setup
  (cd "$AJUDA_ROOT" && python -m tests.integration.local_app stop --local-dir "$LOCAL_DIR")
  if ! AJUDA_EMULATOR_ENDPOINT="$(emulator_endpoint)"; then
    log "the emulator is not running: nothing to destroy"
    return 0
  fi
  export AJUDA_EMULATOR_ENDPOINT
  # The emulator holds nothing worth keeping: stop it even when a destroy fails.
  trap 'python -m tools.emulator stop --state-dir "$LOCAL_DIR/moto"' EXIT
  # Destroy what the last `up` synthesized; synthesize only when that output is gone.
  if [ ! -f "$OUT_DIR/stacks/$STACK/cdk.tf.json" ] || [ ! -f "$OUT_DIR/stacks/$BOOTSTRAP/cdk.tf.json" ]; then
    step "synthesize" cdktf_in_project synth
  fi
  step "destroy $STACK" cdktf_run destroy "$STACK"
  step "destroy $BOOTSTRAP" cdktf_run destroy "$BOOTSTRAP"
  printf 'full log: %s\n' "$STEP_LOG" >&2
  log "stopping the emulator"
}

case "${1:-up}" in
  up) up ;;
  plan) plan ;;
  down) down ;;
  app) app ;;
  *) die "usage: bash scripts/local.sh [up|plan|down|app]" ;;
esac
