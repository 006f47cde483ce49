#!/usr/bin/env bash
# The run command: set up .venv if needed, migrate, load the demo library, start the API,
# the Dagster UI and the Dagster daemon, and print their URLs. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh large-model
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/lifeos up "$@"
