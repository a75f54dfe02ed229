# syntax=docker/dockerfile:1
#
# wxhub container image.
#
#   docker build -t wxhub .
#   docker run --rm --init -p 3000:3000 \
#     -v "$PWD/config/accounts.yaml:/etc/wxhub/accounts.yaml:ro" -e WECHAT_ACCOUNTS_FILE=/etc/wxhub/accounts.yaml \
#     -e ADMIN_API_KEYS=<a key of 16+ characters> -e REDIS_URL=redis://<host>:6379/0 wxhub
# (or `docker compose up`, which reads .env; note that `docker run --env-file` keeps quotes as part of values)
#
# Production (NODE_ENV=production, set below) REFUSES TO BOOT unless accounts are configured:
#   - WECHAT_ACCOUNTS       JSON array of accounts, or
#   - WECHAT_ACCOUNTS_FILE  path of a YAML/JSON file mounted into the container (see config/accounts.example.yaml).
# REDIS_URL (or REDIS_SENTINELS + REDIS_SENTINEL_NAME) is required as soon as more than ONE instance runs:
# without it each container keeps tokens in its own memory and the instances knock each other's tokens out.
# See .env.example for every variable and docs/deploy/README.md for compose and Kubernetes.
#
# Optional build argument: NPM_REGISTRY=https://registry.example.com/ to install from a mirror.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------------
# build: full dependency tree (the Nest CLI and TypeScript are dev dependencies), compile, then drop dev deps
# ---------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

ARG NPM_REGISTRY
# Manifests first so the dependency layer is cached until they change.
COPY package.json package-lock.json ./
# Not `npm ci`: the registry mirror lacks some non-Linux optional binaries pinned in the lockfile, and
# `npm ci` insists on the lockfile matching exactly. `npm install` still honours the lockfile's versions.
RUN npm install --no-audit --no-fund ${NPM_REGISTRY:+--registry=$NPM_REGISTRY}

# Sources (filtered by .dockerignore: no node_modules, dist, tests, benchmarks, .env)
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund ${NPM_REGISTRY:+--registry=$NPM_REGISTRY} \
 && test -f dist/main.js

# ---------------------------------------------------------------------------------------------------------
# runtime: compiled code + production dependencies only, non-root
# ---------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app

ENV NODE_ENV=production \
    PORT=3000

# Files stay owned by root and read-only for the `node` user (uid 1000 in the official images): the process
# cannot rewrite its own code. wxhub writes nothing to disk, so a read-only root filesystem works.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Only the examples: .dockerignore keeps real account files (config/accounts.yaml…) out of the image.
# Mount the real file at run time and point WECHAT_ACCOUNTS_FILE at it.
COPY --from=build /app/config ./config

USER node

EXPOSE 3000

# /health answers 200 when the store answers and every account has a live token (or is refreshing), 503
# otherwise. There is no curl in the slim image, so Node's own fetch does the probe. If you set HOST to
# something other than 0.0.0.0 / 127.0.0.1, this probe (which uses loopback) cannot reach the server.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Nest's shutdown hooks close the HTTP server and the Redis connections on SIGTERM, then the process exits
# (also as PID 1). `docker run --init` / compose `init: true` is still a good habit (zombie reaping).
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
