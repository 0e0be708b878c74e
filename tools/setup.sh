#!/usr/bin/env bash
# Installs what gqaforge needs to build (Debian/Ubuntu packages via apt-get; a no-op when all
# are present) and checks for a CUDA toolkit. Idempotent.
set -euo pipefail

# llvm-14-dev: the CPU backend module (backends/cpu/) links LLVM 14 statically.
packages=(cmake ninja-build g++ libfmt-dev libsqlite3-dev libgtest-dev nlohmann-json3-dev libcli11-dev llvm-14-dev
          libeigen3-dev libspdlog-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    $sudo_cmd apt-get update >/dev/null
    $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}"
  }
fi

# Optional: a headless browser for the HTML report's screenshot test (the test skips without
# one). GQAFORGE_SETUP_MINIMAL=1 skips it; a failed install is reported, not fatal.
if [ "${GQAFORGE_SETUP_MINIMAL:-0}" != 1 ] && ! command -v chromium-headless-shell >/dev/null 2>&1 &&
   ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium-headless-shell (for the report screenshot test; GQAFORGE_SETUP_MINIMAL=1 skips it)"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  { $sudo_cmd apt-get install -y --no-install-recommends chromium-headless-shell >/dev/null 2>&1 ||
    { $sudo_cmd apt-get update >/dev/null 2>&1 &&
      $sudo_cmd apt-get install -y --no-install-recommends chromium-headless-shell >/dev/null 2>&1; }; } ||
    echo "setup: note: chromium-headless-shell not installed; the report screenshot test will skip"
fi

# Optional: Debian's Slurm, for the test that runs the README's cluster recipe on a private
# single-host Slurm (tests/slurm; it installs Slurm itself when it can and skips without).
# GQAFORGE_SETUP_MINIMAL=1 skips it; a failed install is reported, not fatal.
if [ "${GQAFORGE_SETUP_MINIMAL:-0}" != 1 ] &&
   ! dpkg-query -W -f='${Status}' slurm-wlm 2>/dev/null | grep -q "install ok installed"; then
  echo "setup: installing slurm-wlm (for the Slurm recipe test; GQAFORGE_SETUP_MINIMAL=1 skips it)"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  { $sudo_cmd apt-get install -y --no-install-recommends slurm-wlm >/dev/null 2>&1 ||
    { $sudo_cmd apt-get update >/dev/null 2>&1 &&
      $sudo_cmd apt-get install -y --no-install-recommends slurm-wlm >/dev/null 2>&1; }; } ||
    echo "setup: note: slurm-wlm not installed; the Slurm recipe test will skip"
fi

# The Python extension (python/) builds with nanobind, from PyPI; without it (or without pip)
# the build leaves the extension out and the Python tests skip, naming the reason.
py=${GQAFORGE_PYTHON:-python3}
if command -v "$py" >/dev/null 2>&1; then
  if ! "$py" -m nanobind --cmake_dir >/dev/null 2>&1; then
    echo "setup: installing nanobind (pip) for the Python extension"
    "$py" -m pip install --quiet --disable-pip-version-check 'nanobind>=2.0' >/dev/null 2>&1 ||
      echo "setup: note: nanobind not installed (no pip?); the Python extension is not built and its tests skip"
  fi
else
  echo "setup: note: no $py; the Python extension is not built and its tests skip"
fi

cuda_root=${CUDAToolkit_ROOT:-}
if [ -z "$cuda_root" ]; then
  for c in /usr/local/cuda /usr/local/cuda-13.0 /usr/local/cuda-12; do
    if [ -f "$c/include/nvrtc.h" ]; then cuda_root=$c; break; fi
  done
fi
if [ -z "$cuda_root" ] || [ ! -f "$cuda_root/include/nvrtc.h" ]; then
  echo "setup: error: no CUDA toolkit found (looked for include/nvrtc.h under /usr/local/cuda)." >&2
  echo "setup: install the CUDA toolkit (12.x or 13.x) or point at it: export CUDAToolkit_ROOT=/path/to/cuda" >&2
  exit 1
fi
echo "setup: CUDA toolkit at $cuda_root"
