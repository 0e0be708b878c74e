#!/usr/bin/env bash
# Runs on the GPU machine: the C API benchmarks of bench/RESULTS.md in one run.
#   1. a tuned library built from the bundled H200 measurements;
#   2. host overhead of one gqaforge_plan_run call against the driver's launch floor;
#   3. time from opening to the first result: the library's cubins, JIT on a cold compile cache,
#      JIT on a warm one (each a fresh process with its context already made);
#   4. tuned plan vs heuristic default vs PyTorch SDPA (flash, cuDNN) on the benchmark shapes.
# Usage: bench/run_capi.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=$1
out=$2
bench=$build/bench/gqaforge_capi_bench
work=$(mktemp -d /tmp/gqaforge-capi.XXXXXX)
export PYTHONUNBUFFERED=1
export GQAFORGE_CACHE_DIR=$work/build-cache
"$build/tools/gqaforge" library build --db data/h200-tuned.tsv --arch sm_90a -o "$work/h200.gqalib" \
  > "$out/capi_library.log" 2>&1
tail -n 1 "$out/capi_library.log"
GQAFORGE_CACHE_DIR=$work/overhead-cache "$bench" overhead "$work/h200.gqalib" | tee "$out/capi_overhead.txt"
{
  GQAFORGE_CACHE_DIR=$work/cold-cubin "$bench" first "$work/h200.gqalib"
  GQAFORGE_CACHE_DIR=$work/cold-jit "$bench" first -
  GQAFORGE_CACHE_DIR=$work/cold-jit "$bench" first -
} | tee "$out/capi_first.txt"
GQAFORGE_CACHE_DIR=$work/compare-cache "$bench" compare "$work/h200.gqalib" "$out/capi_compare.csv" \
  > "$out/capi_compare.log" 2>&1
python3 bench/peers.py --shapes-from "$out/capi_compare.csv" --csv "$out/capi_peers.csv" > "$out/capi_peers.log" 2>&1
python3 bench/capi_report.py --ours "$out/capi_compare.csv" --peers "$out/capi_peers.csv" | tee "$out/capi_report.md"
rm -rf "$work"
