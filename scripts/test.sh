#!/usr/bin/env bash
# The whole test run: lint, types, then unit / integration / e2e tests against real services.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

# Browser tests need Debian's chromium (no browser download is possible here) and a Chinese font
# (without one the screenshots show boxes).
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# `docker compose config` checks docker-compose.yml; Debian's docker-compose does it without an engine.
{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; } || need+=(docker-compose)
{ command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; } || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null) \
    || echo "warning: could not install ${need[*]}" >&2
fi

echo "== ruff"; $BIN/ruff check services tests
echo "== mypy"; $BIN/mypy
echo "== import contracts"; $BIN/lint-imports
echo "== pytest"
if [ ! -f services/core/model/weights.json ]; then $BIN/complaints train; fi
$BIN/python -m pytest -p no:cacheprovider -q -ra "$@"
