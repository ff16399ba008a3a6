# refsim: one image for the coordinator and the workers (see docker-compose.yml).
#   docker build -t refsim .
#   docker run --rm refsim run --help
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so that a source change does not reinstall them. --omit=dev is enough:
# tsx is a runtime dependency (bin/refsim.mjs runs the TypeScript sources through it), and so
# are the NATS client, BullMQ and ioredis; vitest, typescript and testcontainers are not needed.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .

# A named volume mounted here starts with this folder's owner, so the unprivileged user can write.
RUN mkdir -p /results && chown node:node /results
USER node
VOLUME ["/results"]

ENTRYPOINT ["node", "bin/refsim.mjs"]
CMD ["--help"]
