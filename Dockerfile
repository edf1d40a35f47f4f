# syntax=docker/dockerfile:1
# townhall's image, built by docker compose (docker-compose.yml) or alone: docker build -t townhall .

# Build stage: native modules (better-sqlite3, hnswlib-node) need a compiler; TypeScript compiles to dist/.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
COPY bin ./bin
RUN npm run build && npm prune --omit=dev --no-fund --no-audit

# Runtime stage: the compiled app and its production dependencies, no compiler, no sources, no npm cache.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
WORKDIR /app
# The code stays root's and read-only to the app; only /data is writable.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /data && chown node:node /data
# The image's unprivileged node user, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# What the README's `npm start` runs once its build step is done, without npm in between:
# docker stop's SIGTERM goes straight to the server, which shuts down cleanly.
CMD ["node", "dist/src/server.js"]
