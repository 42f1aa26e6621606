#!/usr/bin/env bash
# Release an environment: the one sequence operators and CI both run (README: Releasing).
#
#   bash scripts/release.sh <env> [<tag>]   # plan, apply that plan, roll out (operators)
#   bash scripts/release.sh plan <env>      # synthesize, init, save the plan (tfplan, plan.json, plan.txt)
#   bash scripts/release.sh apply <env>     # apply exactly the saved tfplan, then roll out
#
# The release itself is data: RELEASES in config/environments.py. <tag> only guards an operator
# against releasing something other than what was reviewed. After `terraform apply` has
# registered the new task definition, tools/release.py runs the migration task and waits for
# exit code 0, points the service at the new task definition and waits for the deployment to
# complete; ECS rolls back a deployment that trips the circuit breaker or a deployment alarm, and
# the release then exits non-zero.
#
# RELEASE_PLAN_URI=s3://<bucket>/<key>: `plan` also uploads the saved plan there and `apply`
# downloads it first (CI: the prod plan is made before the approval, applied after it);
# RELEASE_PLAN_SHA256, when set, must match the downloaded plan.
# CDKTF_OUTDIR (default cdktf.out) is where stacks are synthesized.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AJUDA_ROOT"
# CI installs requirements.txt into its own Python; elsewhere use (or create) the project's .venv.
python -c 'import cdktf, boto3' 2>/dev/null || ensure_venv

usage() { die "usage: bash scripts/release.sh <env> [<tag>] | plan <env> | apply <env>"; }

stack_dir() { printf '%s/stacks/ajuda-%s' "${CDKTF_OUTDIR:-cdktf.out}" "$1"; }

synthesize() {
  log "synthesizing ajuda-$1"
  AJUDA_ENVIRONMENTS="$1" python main.py
  terraform -chdir="$(stack_dir "$1")" init -input=false -no-color >/dev/null
}

plan() {
  local env="$1" dir
  dir="$(stack_dir "$env")"
  synthesize "$env"
  log "planning ajuda-$env"
  terraform -chdir="$dir" plan -out=tfplan -lock-timeout=5m -input=false -no-color
  terraform -chdir="$dir" show -json tfplan > "$dir/plan.json"
  terraform -chdir="$dir" show -no-color tfplan > "$dir/plan.txt"
  if [ -n "${RELEASE_PLAN_URI:-}" ]; then
    aws s3 cp --only-show-errors "$dir/tfplan" "$RELEASE_PLAN_URI"
    log "saved plan uploaded to $RELEASE_PLAN_URI (sha256 $(sha256sum "$dir/tfplan" | cut -d' ' -f1))"
  fi
}

apply() {
  local env="$1" dir
  dir="$(stack_dir "$env")"
  if [ -n "${RELEASE_PLAN_URI:-}" ]; then
    synthesize "$env"
    aws s3 cp --only-show-errors "$RELEASE_PLAN_URI" "$dir/tfplan"
  fi
  [ -f "$dir/tfplan" ] || die "no saved plan in $dir: run 'bash scripts/release.sh plan $env' first"
  if [ -n "${RELEASE_PLAN_SHA256:-}" ]; then
    echo "$RELEASE_PLAN_SHA256  $dir/tfplan" | sha256sum --check --status \
      || die "the saved plan is not the one that was reviewed (sha256 mismatch)"
  fi
  log "applying the saved plan of ajuda-$env (registers the new task definition)"
  terraform -chdir="$dir" apply -lock-timeout=5m -input=false -no-color tfplan
  rm -f "$dir/tfplan"
  terraform -chdir="$dir" output -json > "$dir/outputs.json"
  log "rolling out ajuda-$env"
  python -m tools.release rollout --outputs "$dir/outputs.json" --poll-seconds "${RELEASE_POLL_SECONDS:-10}"
}

case "${1:-}" in
  "") usage ;;
  plan) [ "$#" -eq 2 ] || usage; plan "$2" ;;
  apply) [ "$#" -eq 2 ] || usage; apply "$2" ;;
  *)
    [ "$#" -le 2 ] || usage
    if [ "$#" -eq 2 ]; then
      python -m tools.release check-tag "$1" "$2"
    fi
    plan "$1"
    apply "$1"
    ;;
esac
