#!/usr/bin/env bash
# Runs on the GPU machine: decode config sweeps for issue 17's questions (one `gqaforge bench`
# per shape and config: the gate, then graph-replayed medians). Each line of the input names a
# shape and a config override ("-" = the heuristic default):
#   HEADS D BATCH Q_LEN KV_LEN CONFIG
# Usage: bench/sweep_decode.sh BUILD_DIR OUT_DIR SWEEP_FILE
# Writes OUT_DIR/sweep.csv (one row per line of the sweep) and OUT_DIR/sweep.log.
set -uo pipefail
build=$1
out=$2
sweep=$3
export GQAFORGE_CACHE_DIR=${GQAFORGE_CACHE_DIR:-/tmp/gqaforge-cache}
csv="$out/sweep.csv"
: > "$out/sweep.log"
first=1
while read -r heads d batch q kv config; do
  case "$heads" in '' | '#'*) continue ;; esac
  args=(bench --phase decode --heads "$heads" --head-dim "$d" --batch "$batch" --q-len "$q" --kv-len "$kv" --wide
    --csv "$out/one.csv")
  [ "$config" != "-" ] && args+=(--config "$config")
  if timeout 120 "$build/tools/gqaforge" "${args[@]}" >> "$out/sweep.log" 2>&1; then
    if [ $first = 1 ]; then head -n 1 "$out/one.csv" | sed 's/^/request,/' > "$csv"; first=0; fi
    tail -n +2 "$out/one.csv" | sed "s|^|\"$config\",|" >> "$csv"
  else
    echo "\"$config\",failed: $heads d$d b$batch q$q kv$kv" >> "$csv"
  fi
done < "$sweep"
rm -f "$out/one.csv"
