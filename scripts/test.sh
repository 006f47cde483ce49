#!/usr/bin/env bash
# The test command: set up .venv if needed, run the engineering gates (scripts/gates.sh), then
# the whole suite (SQLite, PostgreSQL, the browser) with coverage and its floor.
# With arguments it runs only pytest with them, no gates or floor: `scripts/test.sh -k store -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/ensure-postgres.sh
scripts/ensure-chromium.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=1 GRADIO_ANALYTICS_ENABLED=False
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi

scripts/gates.sh
# The floor is today's figure for the whole suite (raise it as coverage grows; goal: 85 % for
# the core, the tools and the resources).
COVERAGE_FLOOR=$(sed -n 's/^fail_under = //p' pyproject.toml)
rm -f .coverage .coverage.*
status=0
.venv/bin/python -m pytest --cov --cov-report= || status=$?
echo "coverage by layer (goal >= 85 % for lifeos, tools, resources):"
for layer in lifeos tools resources apps assets pipelines plugins; do
  printf '  %-10s %s %%\n' "$layer" \
    "$(.venv/bin/coverage report --format=total --fail-under=0 --include="$layer/*" 2>/dev/null || echo "?")"
done
total=$(.venv/bin/coverage report --format=total --fail-under=0)
echo "  total      $total % (floor $COVERAGE_FLOOR %)"
if [ "$status" -eq 0 ] && ! .venv/bin/coverage report --fail-under="$COVERAGE_FLOOR" >/dev/null; then
  echo "coverage $total % is under the floor of $COVERAGE_FLOOR % (pyproject.toml)" >&2
  status=2
fi
exit "$status"
