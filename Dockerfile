# syntax=docker/dockerfile:1
# One image for every quorumkv service; the first argument picks the service:
#
#   docker build -t quorumkv .
#   docker run --rm quorumkv coordinator --help
#   docker run --rm quorumkv storage-node --id node-1 --listen 0.0.0.0:7101 --data-dir /data
#
# Runs as uid 1000 (non-root) and writes nothing outside the volumes it is given (a storage
# node's --data-dir), so it runs with a read-only root filesystem. test/deploy/image.test.ts checks
# this file offline (stages, user, what is copied, entry points).

# Pin by digest for reproducible builds: --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:…
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Every dependency (dev included), then the services and the libraries they use, compiled.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# The context is filtered by .dockerignore: no node_modules, build output, data or secrets.
COPY . .
RUN npm ci --no-audit --no-fund \
 && npx tsc -b services/*/
# The runtime tree: each workspace's package.json, compiled dist/ (tests left out) and bin/, the
# descriptor set gRPC reflection serves, and the manifests npm needs to install from the lock.
RUN set -eu; \
    for ws in packages/* services/*; do \
      mkdir -p "/out/$ws"; \
      cp "$ws/package.json" "/out/$ws/"; \
      if [ -d "$ws/dist" ]; then cp -R "$ws/dist" "/out/$ws/"; fi; \
      if [ -d "$ws/bin" ]; then cp -R "$ws/bin" "/out/$ws/"; fi; \
    done; \
    find /out \( -name '*.test.js' -o -name '*.test.d.ts' -o -name '*.test.js.map' -o -name '*.tsbuildinfo' \) -delete; \
    mkdir -p /out/packages/proto/src/generated /out/test; \
    cp packages/proto/src/generated/descriptors.binpb /out/packages/proto/src/generated/; \
    cp package.json package-lock.json /out/; \
    cp test/package.json /out/test/

# 2. Production dependencies only, of the services alone (not the test workspace, not the
#    launcher or the CLI). classic-level's install script finds its prebuilt binary.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY --from=build /out/ ./
RUN npm ci --omit=dev --no-audit --no-fund $(for s in services/*/; do printf -- '--workspace=%s ' "${s%/}"; done) \
 && npm cache clean --force

# 3. The runtime: Node, the compiled services and their production dependencies, owned by root
#    and read-only to the service's user.
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="quorumkv" \
      org.opencontainers.image.description="quorumkv membership service, storage node, coordinator and rate limiter (first argument picks the service)"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/ ./
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/quorumkv
# Numeric, so Kubernetes' runAsNonRoot can verify it (a user name cannot be checked).
USER 1000:1000
# gRPC: coordinator 7070, storage node 7101, rate limiter 8081, membership 7946; /metrics: 9070, 9101, 9081, 9946.
EXPOSE 7070 7101 7946 8081 9070 9081 9101 9946
ENTRYPOINT ["/usr/local/bin/quorumkv"]
CMD ["--help"]
