#!/bin/sh
# Ajuda Digital entrypoint for the Open WebUI image (v0.12.4).
#
# Turns the AJUDA_* inputs (plain env + ECS secrets) into the URLs Open WebUI reads,
# with the user name and password URL-encoded, then runs the command:
#
#   ajuda-entrypoint [CMD...]      export the URLs, then exec CMD (the image's CMD: bash start.sh)
#   ajuda-entrypoint migrate       run Open WebUI's Alembic migrations once, exit 0 on success
#
# Inputs (required): AJUDA_DB_HOST AJUDA_DB_PORT AJUDA_DB_NAME AJUDA_DB_USER AJUDA_DB_PASSWORD
#         (optional): AJUDA_DB_SSLMODE (default require)
#                     AJUDA_REDIS_HOST [AJUDA_REDIS_PORT=6379] [AJUDA_REDIS_PASSWORD]
#                     AJUDA_REDIS_DISABLED=true: no Redis even if the above are set (restore drill)
#                     [AJUDA_REDIS_TLS: true|false, default true when a password is given]
# Outputs: DATABASE_URL, PGVECTOR_DB_URL (same database), and with a Redis host
#          REDIS_URL and WEBSOCKET_REDIS_URL (rediss:// with TLS).
#
# Why not Open WebUI's DATABASE_USER/DATABASE_PASSWORD/DATABASE_HOST...: open_webui/env.py
# joins them into DATABASE_URL without URL-encoding, which breaks on "@ : / # %".
#
# Secrets: values are only ever passed to python3 through the environment (never spliced
# into code), nothing here prints a value, and the raw passwords are unset before exec.
set -eu

PROG=ajuda-entrypoint

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 64; }

# The restore drill's task (tools/restore_drill.py) must stay apart from the live service: ECS
# cannot remove the injected Redis secret, so this switch drops Redis altogether.
case "${AJUDA_REDIS_DISABLED:-false}" in
  true) unset AJUDA_REDIS_HOST AJUDA_REDIS_PASSWORD ;;
  false) ;;
  *) die "AJUDA_REDIS_DISABLED must be true or false" ;;
esac

missing=""
for name in AJUDA_DB_HOST AJUDA_DB_PORT AJUDA_DB_NAME AJUDA_DB_USER AJUDA_DB_PASSWORD; do
  eval "value=\${$name:-}"
  # shellcheck disable=SC2154 # "value" is set by the eval above
  [ -n "$value" ] || missing="$missing $name"
done
if [ -n "${AJUDA_REDIS_PASSWORD:-}" ] && [ -z "${AJUDA_REDIS_HOST:-}" ]; then
  missing="$missing AJUDA_REDIS_HOST"
fi
if [ -n "$missing" ]; then
  for name in $missing; do log "error: required environment variable $name is not set (or empty)"; done
  exit 64
fi
unset value

AJUDA_DB_SSLMODE="${AJUDA_DB_SSLMODE:-require}"
case "$AJUDA_DB_SSLMODE" in
  disable | allow | prefer | require | verify-ca | verify-full) ;;
  *) die "AJUDA_DB_SSLMODE must be one of disable|allow|prefer|require|verify-ca|verify-full" ;;
esac
case "$AJUDA_DB_PORT" in
  *[!0-9]*) die "AJUDA_DB_PORT must be a number" ;;
esac
# SQLAlchemy (which Open WebUI and Alembic use) percent-decodes the user and password of a
# URL but not the database name, so the name must need no encoding at all.
case "$AJUDA_DB_NAME" in
  *[!A-Za-z0-9_.-]*) die "AJUDA_DB_NAME may only contain letters, digits, '_', '.' and '-'" ;;
esac
case "$AJUDA_DB_HOST" in
  *[!A-Za-z0-9_.-]*) die "AJUDA_DB_HOST must be a host name or IPv4 address" ;;
esac
export AJUDA_DB_SSLMODE

PYTHON="${AJUDA_PYTHON:-python3}"
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (needed to URL-encode credentials)"

# Reads every value from os.environ: no value is ever part of the program text.
# shellcheck disable=SC2016 # the single quotes are intended: this is Python, not shell
DATABASE_URL="$("$PYTHON" -c '
import os, sys
from urllib.parse import quote
e = os.environ
q = lambda name: quote(e[name], safe="")
sys.stdout.write("postgresql://%s:%s@%s:%s/%s?sslmode=%s" % (
    q("AJUDA_DB_USER"), q("AJUDA_DB_PASSWORD"), e["AJUDA_DB_HOST"], e["AJUDA_DB_PORT"],
    e["AJUDA_DB_NAME"], e["AJUDA_DB_SSLMODE"]))
')" || die "could not compose DATABASE_URL"
export DATABASE_URL
PGVECTOR_DB_URL="$DATABASE_URL"
export PGVECTOR_DB_URL

if [ -n "${AJUDA_REDIS_HOST:-}" ]; then
  AJUDA_REDIS_PORT="${AJUDA_REDIS_PORT:-6379}"
  case "$AJUDA_REDIS_PORT" in
    *[!0-9]*) die "AJUDA_REDIS_PORT must be a number" ;;
  esac
  if [ -z "${AJUDA_REDIS_TLS:-}" ]; then
    if [ -n "${AJUDA_REDIS_PASSWORD:-}" ]; then AJUDA_REDIS_TLS=true; else AJUDA_REDIS_TLS=false; fi
  fi
  case "$AJUDA_REDIS_TLS" in
    true | TRUE | True | 1) AJUDA_REDIS_SCHEME=rediss ;;
    false | FALSE | False | 0) AJUDA_REDIS_SCHEME=redis ;;
    *) die "AJUDA_REDIS_TLS must be true or false" ;;
  esac
  case "$AJUDA_REDIS_HOST" in
    *[!A-Za-z0-9_.-]*) die "AJUDA_REDIS_HOST must be a host name or IPv4 address" ;;
  esac
  export AJUDA_REDIS_PORT AJUDA_REDIS_SCHEME
  # ElastiCache AUTH token = password of the "default" user: rediss://:TOKEN@host:port/0
  # shellcheck disable=SC2016 # Python program text
  REDIS_URL="$("$PYTHON" -c '
import os, sys
from urllib.parse import quote
e = os.environ
password = e.get("AJUDA_REDIS_PASSWORD", "")
auth = ":%s@" % quote(password, safe="") if password else ""
sys.stdout.write("%s://%s%s:%s/0" % (e["AJUDA_REDIS_SCHEME"], auth, e["AJUDA_REDIS_HOST"], e["AJUDA_REDIS_PORT"]))
')" || die "could not compose REDIS_URL"
  WEBSOCKET_REDIS_URL="$REDIS_URL"
  export REDIS_URL WEBSOCKET_REDIS_URL
  unset AJUDA_REDIS_SCHEME
fi

# The raw secrets are not needed any more; the URLs carry them (encoded).
unset AJUDA_DB_PASSWORD AJUDA_REDIS_PASSWORD
# Open WebUI rebuilds DATABASE_URL from these when all are set (env.py:291): make sure ours wins.
unset DATABASE_TYPE DATABASE_USER DATABASE_PASSWORD DATABASE_HOST DATABASE_PORT DATABASE_NAME

if [ "${1:-}" = "migrate" ]; then
  shift
  export ENABLE_DB_MIGRATIONS=true
  log "running Open WebUI database migrations"
  exec "$PYTHON" "${AJUDA_MIGRATE_SCRIPT:-/usr/local/lib/ajuda/ajuda_migrate.py}" "$@"
fi

[ "$#" -gt 0 ] || die "no command given (the image's CMD is: bash start.sh)"
exec "$@"
