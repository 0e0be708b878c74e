#!/usr/bin/env bash
# Runs on the GPU machine: the gpu-labelled test suite, then the decode and prefill benchmark
# suites of gqaforge and of the peers (PyTorch SDPA flash / cuDNN) in the same run.
# Usage: bench/run_gpu.sh BUILD_DIR OUT_DIR [tests|decode|prefill ...]
# BUILD_DIR must be the build tree at the absolute path it was configured at (CTest files
# hold absolute paths). Logs and CSVs go to OUT_DIR.
set -uo pipefail
# shellcheck source=bench/settings.sh
source "$(dirname "$0")/settings.sh"
build=$1
out=$2
shift 2
steps=${*:-tests decode prefill}
# Progress logs stay on the machine: only the CSVs, reports and the test log come back.
logs=$(setting LOG_DIR "/tmp/gqaforge-logs")
mkdir -p "$logs"
export GQAFORGE_CACHE_DIR=${GQAFORGE_CACHE_DIR:-/tmp/gqaforge-cache}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,temperature.gpu,power.draw \
  --format=csv > "$out/gpu.txt" 2>&1
for step in $steps; do
  case $step in
    tests)
      timeout $(setting TEST_TIMEOUT "200") ctest --test-dir "$build" -L gpu -j 8 --output-on-failure --timeout 600 > "$out/gpu_tests.log" 2>&1
      tail -n 15 "$out/gpu_tests.log" ;;
    decode|prefill)
      timeout $(setting BENCH_TIMEOUT "220") "$build/tools/gqaforge" bench --suite "$step" --csv "$out/${step}.csv" > "$logs/${step}.log" 2>&1
      timeout $(setting PEERS_TIMEOUT "160") python3 bench/peers.py --suite "$step" --csv "$out/${step}_peers.csv" > "$logs/${step}_peers.log" 2>&1
      python3 bench/report.py --suite "$step" --ours "$out/${step}.csv" --peers "$out/${step}_peers.csv" \
        > "$out/${step}_report.md" 2>&1
      tail -n 6 "$out/${step}_report.md" ;;
  esac
done
