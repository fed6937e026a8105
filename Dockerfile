# syntax=docker/dockerfile:1
# AEGIS's image: `aegis serve` by default (see charts/aegis). Two stages:
#   build   — node:24 with npm: `npm ci`, `npm run build` (tsc → dist/), `npm prune --omit=dev`
#   runtime — node:24 slim: dist/, production node_modules and package.json only, owned by root,
#             run as the numeric non-root user 10001:10001; writes only /tmp and /app/data.
# Build: docker build -t ghcr.io/valina-ai/aegis:0.1.0 .
ARG NODE_IMAGE=node:24-bookworm
ARG RUNTIME_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# Dependencies first: this layer is reused while package*.json do not change.
COPY package.json package-lock.json ./
# Behind a TLS-intercepting proxy, hand its CA bundle in as a build secret (not a layer):
#   docker build --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt .
RUN --mount=type=cache,target=/root/.npm \
    --mount=type=secret,id=ca-certificates,target=/run/secrets/ca-certificates \
    if [ -s /run/secrets/ca-certificates ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-certificates; fi \
    && npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
    && npm prune --omit=dev \
    && find dist -name '*.map' -delete

FROM ${RUNTIME_IMAGE} AS runtime
LABEL org.opencontainers.image.title="aegis" \
      org.opencontainers.image.description="Kubernetes admission gate and operator: policy checks, human approval bound to the exact change, tamper-evident evidence" \
      org.opencontainers.image.source="https://github.com/valina-ai/aegis" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    HOME=/tmp \
    AEGIS_DATA_DIR=/app/data
WORKDIR /app
# A named user for tools that look one up; Kubernetes runs the numeric id (runAsUser 10001).
RUN groupadd --gid 10001 aegis \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin aegis \
    && mkdir -p /app/data \
    && chown 10001:10001 /app/data \
    && chmod 0700 /app/data
# Code and dependencies stay root-owned and read-only for the user (readOnlyRootFilesystem in the chart).
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 10001:10001
# The only writable places: scratch space and AEGIS_DATA_DIR (embedded PostgreSQL, evidence
# spool, signing key). The chart mounts an emptyDir on each.
VOLUME ["/tmp", "/app/data"]
# 8750: REST API, dashboard, /metrics, /health, /readyz (HTTP). 9443: admission webhook (HTTPS).
EXPOSE 8750 9443
ENTRYPOINT ["node", "dist/cli/aegis.js"]
CMD ["serve"]
