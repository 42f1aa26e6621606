# syntax=docker/dockerfile:1
# Ajuda Digital: the official Open WebUI release image plus an entrypoint that builds
# the database / Redis URLs from ECS secrets (URL-encoded) and a one-off "migrate" mode.
#
#   docker build -t ajuda-digital .
#   docker run ... ajuda-digital               # serve (the official start command)
#   docker run ... ajuda-digital migrate       # Alembic upgrade head, then exit
#
# Runtime configuration (env + secrets) comes from modules/open_webui.py via the ECS task
# definition; only safe, non-secret defaults are set here.
#
# The non-slim release: it ships the default embedding model
# (sentence-transformers/all-MiniLM-L6-v2) in SENTENCE_TRANSFORMERS_HOME. Retrieval embeddings now
# come from the model gateway (RAG_EMBEDDING_ENGINE=openai), so that model is not loaded; the
# -slim variant would drop it (~0.3 GB) once its release tag is verified. Do not mount a volume
# over /app/backend/data.
FROM ghcr.io/open-webui/open-webui:v0.12.4

ARG BUILD_DATE=unknown
ARG VCS_REF=unknown

LABEL org.opencontainers.image.title="Ajuda Digital" \
      org.opencontainers.image.description="Open WebUI v0.12.4 for Ajuda Digital (ECS Fargate, PostgreSQL/pgvector, Redis, S3)" \
      org.opencontainers.image.version="0.12.4" \
      org.opencontainers.image.base.name="ghcr.io/open-webui/open-webui:v0.12.4" \
      org.opencontainers.image.licenses="NOASSERTION" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.revision="${VCS_REF}"

# Safe defaults only: no secrets, nothing environment-specific. The task definition sets
# the same values (and the rest) explicitly.
ENV OFFLINE_MODE=true \
    HF_HUB_OFFLINE=1 \
    RAG_EMBEDDING_MODEL_AUTO_UPDATE=false \
    RAG_RERANKING_MODEL_AUTO_UPDATE=false \
    WHISPER_MODEL_AUTO_UPDATE=false \
    ENABLE_DB_MIGRATIONS=false \
    ENABLE_PERSISTENT_CONFIG=false \
    VECTOR_DB=pgvector \
    PGVECTOR_CREATE_EXTENSION=false \
    UVICORN_WORKERS=1 \
    AJUDA_DB_SSLMODE=require \
    SCARF_NO_ANALYTICS=true \
    DO_NOT_TRACK=true \
    ANONYMIZED_TELEMETRY=false

COPY --chmod=0755 docker/ajuda-entrypoint.sh /usr/local/bin/ajuda-entrypoint
COPY --chmod=0644 docker/ajuda_migrate.py /usr/local/lib/ajuda/ajuda_migrate.py

# Same working directory as the official image: start.sh and the open_webui package live here.
WORKDIR /app/backend

# start.sh hard-codes --forwarded-allow-ips '*', which would let any client spoof
# X-Forwarded-For/-Proto; take the task definition's FORWARDED_ALLOW_IPS (the ALB subnets)
# instead. The checks fail the build if a new start.sh no longer matches.
# hadolint ignore=SC2016
RUN sed -i "s/--forwarded-allow-ips '\*'/--forwarded-allow-ips \"\${FORWARDED_ALLOW_IPS:-127.0.0.1}\"/g" start.sh \
    && grep -q 'forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"' start.sh \
    && ! grep -q "forwarded-allow-ips '\*'" start.sh

EXPOSE 8080

# Liveness only (/health touches neither the database nor Redis). ECS ignores an image
# HEALTHCHECK: the task definition carries the same command. curl is in the official image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
  CMD ["curl", "--fail", "--silent", "--show-error", "--max-time", "4", "--output", "/dev/null", "http://127.0.0.1:8080/health"]

# Root, as in the official image (built with UID=0; upstream: "non-root configurations are
# untested"). The app writes to /app/backend/data and /app/backend/open_webui/static at
# start, both root-owned. The task drops all Linux capabilities instead (see notes).
ENTRYPOINT ["/usr/local/bin/ajuda-entrypoint"]
CMD ["bash", "start.sh"]
