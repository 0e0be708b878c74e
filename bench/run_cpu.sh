#!/usr/bin/env bash
# The CPU backend's benchmark (issue 20): the host's ceilings, `gqaforge bench --backend cpu`
# over the CPU suites, PyTorch's CPU SDPA on the same shapes, and the report; all in one run.
# Usage: bench/run_cpu.sh BUILD_DIR OUT_DIR [decode|prefill ...]   (PYTHON: an interpreter with
# torch; without one the peers are left out and the report says so)
set -uo pipefail
build=$1
out=$2
shift 2
steps=${*:-decode prefill}
py=${PYTHON:-python3}
mkdir -p "$out"
"$build/bench/gqaforge_cpu_ceilings" > "$out/cpu_ceilings.txt"
cat "$out/cpu_ceilings.txt"
for step in $steps; do
  "$build/tools/gqaforge" bench --backend cpu --suite "$step" --wide --csv "$out/cpu_${step}.csv" | tee "$out/cpu_${step}.log"
  if "$py" -c "import torch" 2>/dev/null; then
    "$py" bench/cpu_peers.py --shapes-from "$out/cpu_${step}.csv" --csv "$out/cpu_${step}_peers.csv" > "$out/cpu_${step}_peers.log" 2>&1
  else
    echo "run_cpu: no torch in $py; the peers are left out" >&2
    printf 'phase,hq,hkv,d,causal,batch,q_len,kv_len,backend,median_us,tbps,tflops,error\n' > "$out/cpu_${step}_peers.csv"
  fi
  python3 bench/cpu_report.py --ours "$out/cpu_${step}.csv" --peers "$out/cpu_${step}_peers.csv" \
    --ceilings "$out/cpu_ceilings.txt" > "$out/cpu_${step}_report.md"
  tail -n 3 "$out/cpu_${step}_report.md"
done
