# faas gateway image: `docker build -t faas .` (see README "Running a cluster").
# Stage 1 installs everything (the build needs TypeScript; better-sqlite3 may compile), builds dist/,
# then drops the dev dependencies. Stage 2 is the runtime: production dependencies only, non-root.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) runs below, once the sources are in; native modules next.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3 esbuild
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY contract ./contract
COPY compiler ./compiler
COPY runtime ./runtime
COPY bindings ./bindings
COPY gateway ./gateway
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /var/lib/faas /srv/functions && chown node:node /var/lib/faas
USER node
EXPOSE 8080
# Liveness only; readiness (/readyz: 503 while starting, draining, or without its database) is the balancer's.
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/faas.js"]
# FAAS_STORE (postgres://…), FAAS_SIGNING_KEY and FAAS_ADMIN_TOKEN come from the environment.
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--data", "/var/lib/faas", "--functions", "/srv/functions"]
