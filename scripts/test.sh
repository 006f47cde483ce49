#!/usr/bin/env bash
# The test command: set up .venv if needed, then run the whole suite (SQLite and Postgres).
# Extra arguments go to pytest, e.g. `scripts/test.sh -k store -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/ensure-postgres.sh
scripts/ensure-chromium.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m pytest "$@"
