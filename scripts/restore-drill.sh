#!/usr/bin/env bash
# Restore drill: restore <env>'s database and documents to <timestamp> into NEW resources, run one
# Open WebUI task on the copy, check it, report, and remove the copy. Never writes to the live ones.
#
#   bash scripts/restore-drill.sh prod 2026-11-25T14:00:00Z
#
# Needs AWS credentials for the account, and a route into the app subnets for the HTTP check
# (run it from a runner inside the VPC, as for the database stack). AJUDA_DRILL_API_KEY (an admin's
# Open WebUI API key) adds the file listing to the check. `local` runs against the emulator that
# `scripts/local.sh up` started. The logic and its tests: tools/restore_drill.py.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$#" -eq 2 ] || die "usage: scripts/restore-drill.sh <environment> <timestamp, e.g. 2026-11-25T14:00:00Z>"
ensure_venv
if [ "$1" = local ] && [ -z "${AJUDA_EMULATOR_ENDPOINT:-}" ]; then
  AJUDA_EMULATOR_ENDPOINT="$(cd "$AJUDA_ROOT" && python -m tools.emulator endpoint \
    --state-dir "${AJUDA_LOCAL_DIR:-$AJUDA_ROOT/.local}/moto")" || die "the emulator is not running: bash scripts/local.sh up"
  export AJUDA_EMULATOR_ENDPOINT
fi
cd "$AJUDA_ROOT"
exec python -m tools.restore_drill "$1" "$2"
