# syntax=docker/dockerfile:1
# margo-wfm image: build with the dev dependencies, run with the production ones only, as a non-root user.
#   docker build -t margo-wfm .        (docker-compose.yml builds it for you)

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY src ./src
COPY console ./console
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    WFM_DATA_DIR=/data \
    PORT=8443
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json /app/package-lock.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/prisma ./prisma
RUN mkdir -p /data && chown node:node /data
# the image's `node` user (uid 1000); docker-compose.yml runs it as the owner of ./.data instead
USER node
VOLUME ["/data"]
EXPOSE 8443
# readiness over HTTPS, verified with the development CA the service wrote to /data (no curl needed)
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const fs=require('fs');const ca=process.env.WFM_HEALTHCHECK_CA||'/data/pki/ca.pem';require('https').get({host:'127.0.0.1',port:process.env.PORT||8443,path:'/health/ready',ca:fs.existsSync(ca)?fs.readFileSync(ca):undefined,rejectUnauthorized:fs.existsSync(ca),timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
