#!/usr/bin/env bash
# The engineering gates, run by the test command before the suite (scripts/test.sh) and on
# their own with `make gates`: lint and format, types, layers, security, dependencies, docs.
# They run side by side (mypy, the long one, beside the rest); each prints one line when it
# passes and its findings when it fails, in the order below; any failure fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
names=()

gate() {  # gate NAME COMMAND...: start it in the background, its output and status kept
  local name=$1
  shift
  names+=("$name")
  (
    start=$SECONDS
    "$@" >"$results/$name.out" 2>&1
    echo "$? $((SECONDS - start))" >"$results/$name.status"
  ) &
}

# mypy's cache outlives a clone (CI clones afresh on the same machine): warm runs take seconds.
export MYPY_CACHE_DIR="${MYPY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeos/mypy}"
export NO_MKDOCS_2_WARNING=1

gate mypy    "$bin/mypy"
gate ruff    "$bin/ruff" check --output-format concise .
gate format  "$bin/ruff" format --check .
gate imports "$bin/lint-imports" --no-cache
gate bandit  "$bin/bandit" -c pyproject.toml -r lifeos tools resources apps assets pipelines \
  notebooks --severity-level medium -q
gate deptry  "$bin/deptry" . --no-ansi
gate docs    "$bin/mkdocs" build --strict --quiet --site-dir "$results/site"
wait

failed=()
for name in "${names[@]}"; do
  read -r rc seconds <"$results/$name.status"
  if [ "$rc" -eq 0 ]; then
    printf 'gate %-8s ok (%ds)\n' "$name" "$seconds"
  else
    printf 'gate %-8s FAILED (%ds)\n' "$name" "$seconds"
    cat "$results/$name.out"
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "gates failed: ${failed[*]}" >&2
  exit 1
fi
