#!/usr/bin/env bash
# Runs on the GPU machine: real `gqaforge tune` sweeps into SQLite files, then exports them
# (text format) and the searcher comparison to OUT_DIR.
# Usage: bench/run_tune.sh BUILD_DIR OUT_DIR STEP...
#   compare         exhaustive tunes of one decode and two prefill problems, then
#                   `gqaforge compare-searchers` on them (searchers.md)
#   prefill-shapes  guided tunes of the prefill benchmark shapes (seq 2K x8 and 16K x1)
#   linear          cuBLASLt GEMMs of model presets (--linear)
#   sweep-decode    the default decode sweep (GQAFORGE_SWEEP_DECODE_S seconds, resumable)
#   sweep-prefill   the default prefill sweep (GQAFORGE_SWEEP_PREFILL_S seconds, resumable)
# A database given as GQAFORGE_IMPORT (text export) is imported first, so a sweep resumes.
set -uo pipefail
# shellcheck source=bench/settings.sh
source "$(dirname "$0")/settings.sh"
build=$1
out=$2
shift 2
gq="$build/tools/gqaforge"
work=$(setting WORK_DIR "/tmp/gqaforge-tune")
mkdir -p "$work"
export GQAFORGE_CACHE_DIR=${GQAFORGE_CACHE_DIR:-/tmp/gqaforge-cache}
log="$out/tune.log"
exh="$work/exhaustive.sqlite"
sweep="$work/sweep.sqlite"
import=$(setting IMPORT)
if [ -n "$import" ]; then "$gq" db import "$import" --db "$sweep" >> "$log" 2>&1; fi

# tune NAME SECONDS ARGS...: one tune command, timed, its table appended to the log.
tune() {
  local name=$1 seconds=$2
  shift 2
  echo "=== $name: gqaforge tune $* (time budget ${seconds}s)" >> "$log"
  local t0=$SECONDS
  timeout $((seconds + 90)) "$gq" tune "$@" --time-budget "${seconds}s" --quiet >> "$log" 2>&1
  echo "=== $name: exit $? after $((SECONDS - t0)) s" >> "$log"
}

recipe_heads=8:1,8:2,8:4,8:8,16:1,16:2,16:4,16:8,16:16,32:1,32:2,32:4,32:8,32:16,32:32
for step in "$@"; do
  case $step in
    compare)
      tune exhaustive-decode $(setting EXH_DECODE_S "150") --phase decode --heads 8:1 --head-dim 128 --batch 1 --kv-len 8k \
        --strategy exhaustive --compile-batch 16 --db "$exh"
      tune exhaustive-prefill $(setting EXH_PREFILL_S "60") --phase prefill --heads $(setting EXH_PREFILL_HEADS "8:1") --head-dim 128 --batch 1 \
        --kv-len 4k --causal yes --strategy exhaustive --compile-batch 16 --db "$exh"
      "$gq" compare-searchers --markdown --db "$exh" > "$out/searchers.md" 2>&1
      "$gq" db export --db "$exh" --output "$out/exhaustive.tsv" 2>> "$log" ;;
    prefill-shapes)
      # The issue's benchmark head configurations at batch 8 x 2K and batch 1 x 16K tokens.
      for shape in "8 2k" "1 16k"; do
        read -r b len <<< "$shape"
        tune prefill-shapes-d128-$len $(setting SHAPES_S "45") --phase prefill --heads 32:8,32:32,8:1,16:2 --head-dim 128 \
          --causal both --batch $b --kv-len $len --budget 24 --db "$sweep"
        tune prefill-shapes-d64-$len $(setting SHAPES_S "45") --phase prefill --heads 32:8 --head-dim 64 \
          --causal both --batch $b --kv-len $len --budget 24 --db "$sweep"
        tune prefill-shapes-d256-$len $(setting SHAPES_S "45") --phase prefill --heads 16:2 --head-dim 256 \
          --causal both --batch $b --kv-len $len --budget 24 --db "$sweep"
      done ;;
    linear)
      # Model presets' GEMMs, and the grid the cost model interpolates in: M tokens x N x K.
      grid=""
      for m in 1 4 16 64 256 1024; do
        for n in 512 1024 2048 4096 8192 16384; do
          for k in 512 1024 2048 4096 8192 16384; do grid="$grid${grid:+,}${m}x${n}x${k}"; done
        done
      done
      echo "=== linear" >> "$log"
      timeout 150 "$gq" tune --linear --model llama-3.2-1b,llama-3.1-8b,paper-1.2b --tokens 1,16,256,4k \
        --gemm "$grid" --db "$sweep" --quiet >> "$log" 2>&1
      echo "=== linear: exit $?" >> "$log" ;;
    sweep-decode)
      tune sweep-decode $(setting SWEEP_DECODE_S "200") --phase decode --heads "$(setting DECODE_HEADS "$recipe_heads")" \
        --head-dim $(setting HEAD_DIMS "128,64") --batch 1,16 --kv-len $(setting DECODE_KV "4k,32k,128k") --budget $(setting BUDGET "16") \
        --db "$sweep" ;;
    sweep-prefill)
      tune sweep-prefill $(setting SWEEP_PREFILL_S "200") --phase prefill --heads "$(setting PREFILL_HEADS "$recipe_heads")" \
        --head-dim $(setting PREFILL_DIMS "128") --batch 1 --kv-len $(setting PREFILL_KV "4k,16k") --causal yes \
        --budget $(setting BUDGET "16") --db "$sweep" ;;
  esac
  # Exported after every step, so a run cut short still brings back what it measured.
  if [ -f "$sweep" ]; then "$gq" db export --db "$sweep" --output "$out/sweep.tsv" 2>> "$log"; fi
done
if [ -f "$sweep" ]; then "$gq" db info --db "$sweep" >> "$log" 2>&1; fi
