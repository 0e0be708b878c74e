#!/usr/bin/env bash
# Runs on the GPU machine: the measurements the cost model's measured objectives need beyond the
# first sweeps of data/h200-tuned.tsv, merged into a copy of it.
#   1. decode at the batches the throughput objective picks at long context (32, 64);
#   2. causal prefill at batch 1 for 32K and 128K prompts (the prompt objective, Table 5);
#   3. the GEMMs of the paper's 1.2B and 1.8B shapes and of Llama-3.2-1B at 32K and 128K tokens.
# Every variant is gated for correctness before it is timed (the tuner's rule).
# Usage: bench/run_costmodel_rows.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=$1
out=$2
gqaforge=$build/tools/gqaforge
db=$(mktemp -d /tmp/gqaforge-rows.XXXXXX)/rows.sqlite
heads=1:1,2:1,2:2,4:1,4:2,4:4,8:1,8:2,8:4,8:8,16:1,16:2,16:4,16:8,16:16,32:1,32:2,32:4,32:8,32:16,32:32
"$gqaforge" db import data/h200-tuned.tsv --db "$db" > "$out/rows_import.log" 2>&1
"$gqaforge" tune --phase decode --heads "$heads" --head-dim 64 --batch 32,64 --kv-len 32k,128k \
  --budget 4 --time-budget 150s --db "$db" --quiet > "$out/rows_decode.log" 2>&1 || echo "decode tune: rc $?"
tail -n 3 "$out/rows_decode.log"
"$gqaforge" tune --phase prefill --heads "$heads" --head-dim 64 --batch 1 --kv-len 32k,128k --causal yes \
  --budget 3 --time-budget 200s --db "$db" --quiet > "$out/rows_prefill.log" 2>&1 || echo "prefill tune: rc $?"
tail -n 3 "$out/rows_prefill.log"
"$gqaforge" tune --linear --model paper-1.2b,paper-1.8b,llama-3.2-1b --tokens 32k,128k --db "$db" --quiet \
  > "$out/rows_linear.log" 2>&1 || echo "linear tune: rc $?"
tail -n 3 "$out/rows_linear.log"
"$gqaforge" db export --db "$db" -o "$out/h200-tuned.tsv"
"$gqaforge" db info --db "$db" | tee "$out/rows_info.txt"
