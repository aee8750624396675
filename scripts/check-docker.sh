#!/usr/bin/env bash
# CI: validates the compose files with `docker compose config` when the compose plugin exists, and
# builds the image when a Docker engine answers; skips each with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker >/dev/null 2>&1; then
  echo "check-docker: skipped (no docker CLI on this machine): compose files and image not validated"
  exit 0
fi
if docker compose version >/dev/null 2>&1; then
  docker compose -f docker-compose.yml config --quiet
  docker compose -f docker-compose.deps.yml config --quiet
  echo "check-docker: docker compose config passed"
else
  echo "check-docker: skipped compose validation (no docker compose plugin)"
fi
if docker info >/dev/null 2>&1; then
  docker build -t margo-wfm:ci .
  echo "check-docker: image built"
else
  echo "check-docker: skipped the image build (no Docker engine answers)"
fi
