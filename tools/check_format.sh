#!/usr/bin/env bash
# Checks (default) or applies (--fix) the checked-in .clang-format on every C++ and CUDA source
# git tracks, golden files aside. Installs Debian's clang-format when it is missing. Exit 1 and
# the list of files when any is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
  echo "check_format: installing clang-format"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get install -y --no-install-recommends clang-format >/dev/null 2>&1 || {
    $sudo_cmd apt-get update >/dev/null
    $sudo_cmd apt-get install -y --no-install-recommends clang-format >/dev/null
  }
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cuh' | grep -v '^tests/codegen/golden/')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} of ${#files[@]} files differ from .clang-format ($(clang-format --version | head -1)):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "check_format: run 'make format' to fix them" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
