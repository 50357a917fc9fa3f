# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and the compiled output only. No rules ship
# with the image: mount yours at /etc/ingressd/rules (read-only is fine).
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    INGRESSD_RULES=/etc/ingressd/rules \
    # The local development CA: a volume, so its certificates outlive the container.
    INGRESSD_DATA_DIR=/var/lib/ingressd \
    # In a container the admin port must be reachable by probes from outside.
    INGRESSD_ADMIN_BIND=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force \
    && mkdir -p /etc/ingressd/rules /var/lib/ingressd \
    && chown node:node /var/lib/ingressd
COPY --from=build /app/dist ./dist
VOLUME ["/var/lib/ingressd"]
USER node
# HTTP, HTTPS, admin, and the NodePort range NodePort Services listen in.
EXPOSE 8080 8443 9090 30000-32767
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "fetch('http://127.0.0.1:'+(process.env.INGRESSD_ADMIN_PORT||9090)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "/app/dist/cli.js"]
