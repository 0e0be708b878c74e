#!/usr/bin/env bash
# Issue 11 on the GPU machine: (a) the split-KV decode matrix repeated in several concurrent
# processes (plus one process of other GPU tests as background load), then (b) compute-sanitizer
# (memcheck, racecheck, synccheck, initcheck) over a representative subset of the decode and
# prefill GPU tests. Logs, a pass/fail summary and the failure details go to OUT.
#
# Usage: bench/stress_gpu.sh BUILD OUT
#   BUILD  a configured and built tree (needs BUILD/tests/runtime/runtime_gpu_test)
#   OUT    output folder (created)
# Environment (defaults in brackets):
#   GQAFORGE_STRESS_PROCS [4]       concurrent processes running the split-KV matrix
#   GQAFORGE_STRESS_REPEAT [40]     --gtest_repeat of each of them
#   GQAFORGE_STRESS_FILTER [the split-KV decode matrix: every case with an explicit num_splits]
#   GQAFORGE_STRESS_NOISE [1]       one more process looping other GPU tests as background load
#   GQAFORGE_STRESS_TIMEOUT [150]   seconds for the concurrent stage (processes still running are
#                              stopped and reported as timed out)
#   GQAFORGE_SANITIZE [1]           0 skips the sanitizer stage
#   GQAFORGE_SANITIZER_TOOLS [memcheck racecheck synccheck initcheck]
#   GQAFORGE_SANITIZER_TIMEOUT [75] seconds per tool
#   GQAFORGE_SANITIZER_FILTER [9 decode + 8 prefill/varlen cases, listed below] gtest filter
#   GQAFORGE_STRESS_BUDGET [450]    seconds for the whole script; a stage that would start past
#                              the budget (less its reserve) is skipped and says so
#   GQAFORGE_STRESS_QUICK [0]       1: a quick check (2 processes x 3 repeats, no noise, memcheck
#                              only over 3 tests, about a minute); explicit variables win
#   GQAFORGE_CACHE_DIR [/tmp/gqaforge-cache]  compile cache shared by all processes
# Exit status: 0 when every test passed and every sanitizer reported 0 errors, 1 otherwise,
# 2 on a usage error.
set -euo pipefail
# shellcheck source=bench/settings.sh
source "$(dirname "$0")/settings.sh"

if [ $# -ne 2 ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
fi
build=$1
out=$2
bin=$build/tests/runtime/runtime_gpu_test
if [ ! -x "$bin" ]; then
  echo "stress_gpu: $bin not found: build the runtime_gpu_test target first" >&2
  exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

quick=$(setting STRESS_QUICK "0")
if [ "$quick" = 1 ]; then
  procs=$(setting STRESS_PROCS "2")
  repeat=$(setting STRESS_REPEAT "3")
  noise=$(setting STRESS_NOISE "0")
  tools=$(setting SANITIZER_TOOLS "memcheck")
else
  procs=$(setting STRESS_PROCS "4")
  repeat=$(setting STRESS_REPEAT "40")
  noise=$(setting STRESS_NOISE "1")
  tools=$(setting SANITIZER_TOOLS "memcheck racecheck synccheck initcheck")
fi
split_filter=$(setting STRESS_FILTER 'Coverage/GpuDecode.MatchesOracle/*num_splits*')
stress_timeout=$(setting STRESS_TIMEOUT "150")
sanitize=$(setting SANITIZE "1")
san_timeout=$(setting SANITIZER_TIMEOUT "75")
budget=$(setting STRESS_BUDGET "450")
export GQAFORGE_CACHE_DIR=${GQAFORGE_CACHE_DIR:-/tmp/gqaforge-cache}

# Representative sanitizer subset (names, not indices, so added cases do not shift it).
decode_subset=(
  '*kv5000__num_splits_64_fused_combine_0_'      # the intermittent case of issue 11
  '*kv5000__num_splits_200_fused_combine_1_'     # fused combine, splits that see no keys
  '*kv5000__num_splits_5_fused_combine_0_'
  '*d64_fp16_b1_q2_kv3001__num_splits_64_fused_combine_1_'
  '*d96_fp16_b1_q3_kv4224__num_splits_7_'        # head dim 96 (uneven copy tiling)
  '*8_8_d128_fp16_b2_q1_kv1000__use_mma_0_'      # CUDA-core inner loop
  '*32_8_d256_bf16_b3_q1_kv799___'               # unequal lengths 799, 1, 97
  '*28_4_d64_bf16_b1_q16_kv113___'               # q_len 16
  '*kv2000__num_splits_3_fused_combine_1__head_major'
)
prefill_subset=(
  '*prefill_5_1_d64_bf16_causal_b1_q97_kv97_'
  '*prefill_7_1_d128_bf16_causal_b1_q239_kv3_'
  '*prefill_10_2_d64_bf16_causal_b2_q333_kv555_pack_gqa_1'
  '*prefill_8_2_d128_bf16_causal_b2_q799_kv1023_wgmma_0'
  '*prefill_6_1_d128_bf16_causal_b2_q1023_kv799_wgmma_1_warps_4_block_m_64_block_n_64'
  '*prefill_5_1_d256_fp16_causal_b1_q239_kv3_wgmma_1_warps_4_block_m_64_block_n_64'
  'GpuPrefillVarlen.*'
  'GpuReferenceVarlen.*'
)
if [ "$quick" = 1 ]; then
  decode_subset=("${decode_subset[0]}" "${decode_subset[1]}")
  prefill_subset=("${prefill_subset[3]}")
fi
join() { local IFS=:; echo "$*"; }
san_filter=$(setting SANITIZER_FILTER "$(join "${decode_subset[@]}" "${prefill_subset[@]}")")

summary=$out/summary.txt
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }
left() { echo $((budget - SECONDS)); }

# Counts in a gtest log: passed/failed/skipped test runs (one line per test per repetition).
count() { grep -cE "$2" "$1" 2>/dev/null || true; }
tally() {  # log -> "ok fail skip"
  local ok fail skip
  ok=$(count "$1" '^\[       OK \] ')
  fail=$(count "$1" '^\[  FAILED  \] .* \([0-9]+ ms\)$')
  skip=$(count "$1" '^\[  SKIPPED \] .* \([0-9]+ ms\)$')
  echo "$ok $fail $skip"
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(hostname)"
  # The commit the binaries were built from (the checkout beside them may be a copy).
  echo "build commit: $(sed -n 's/.*return "\(.*\)";.*/\1/p' "$build/core/git_commit.cpp" 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.draw,compute_mode --format=csv 2>&1 || true
  echo "procs=$procs repeat=$repeat noise=$noise filter=$split_filter tools=$tools budget=${budget}s"
} > "$out/env.txt"
say "stress_gpu: $(head -n 3 "$out/env.txt" | tr '\n' ' ')"

status=0

# ---- (0) warm-up: one process compiles every kernel into the shared cache, checks the matrix
# once, and runs the stream-ordering tests (they hold the legacy stream for 200 ms each).
say "== warm-up: compile cache $GQAFORGE_CACHE_DIR, split-KV matrix once, GpuOrdering.*"
rc=0
timeout 150 "$bin" --gtest_filter="$split_filter:GpuOrdering.*" > "$out/warmup.log" 2>&1 || rc=$?
read -r ok fail skip <<< "$(tally "$out/warmup.log")"
say "warm-up: rc=$rc passed=$ok failed=$fail skipped=$skip"
grep -h '^\[hazard\]' "$out/warmup.log" | tee -a "$summary" || true
if [ "$ok" = 0 ] && [ "$skip" != 0 ]; then
  say "warm-up: the GPU tests skipped (no device?): $(grep -m1 -o 'GPU test skipped.*' "$out/warmup.log" || true)"
  exit 1
fi
[ "$rc" = 0 ] || status=1

# ---- (a) the split-KV matrix, repeated, in $procs processes at once (+ background load).
if [ "$(left)" -lt $((stress_timeout / 2)) ]; then
  say "== concurrent stress: skipped (budget: $(left) s left)"
else
  t=$(( stress_timeout < $(left) - 30 ? stress_timeout : $(left) - 30 ))
  say "== concurrent stress: $procs x '$split_filter' x $repeat repeats, shuffled, noise=$noise, limit ${t}s"
  pids=()
  for i in $(seq 1 "$procs"); do
    timeout "$t" "$bin" --gtest_filter="$split_filter" --gtest_repeat="$repeat" --gtest_shuffle \
      --gtest_random_seed="$((1000 + i))" > "$out/stress_p$i.log" 2>&1 &
    pids+=($!)
  done
  noise_pid=
  if [ "$noise" = 1 ]; then
    # Other GPU tests in a loop (large decodes and prefills: CPU oracle, big uploads, long
    # kernels), as in the `ctest -L gpu -j 8` run where the failure was seen.
    timeout "$t" "$bin" --gtest_filter='Coverage/GpuPrefill.*:Coverage/GpuDecode.*-*num_splits*' \
      --gtest_repeat=-1 --gtest_shuffle > "$out/stress_noise.log" 2>&1 &
    noise_pid=$!
  fi
  for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    n=$((i + 1))
    read -r ok fail skip <<< "$(tally "$out/stress_p$n.log")"
    note=""
    [ "$rc" = 124 ] && note=" (timed out after ${t}s: raise GQAFORGE_STRESS_TIMEOUT or lower GQAFORGE_STRESS_REPEAT)"
    say "stress p$n: rc=$rc passed=$ok failed=$fail skipped=$skip$note"
    [ "$fail" = 0 ] && { [ "$rc" = 0 ] || [ "$rc" = 124 ]; } || status=1
  done
  if [ -n "$noise_pid" ]; then
    kill "$noise_pid" 2>/dev/null || true
    wait "$noise_pid" 2>/dev/null || true
    read -r ok fail skip <<< "$(tally "$out/stress_noise.log")"
    say "noise (other GPU tests): passed=$ok failed=$fail"
    [ "$fail" = 0 ] || status=1
  fi
  tot_ok=0; tot_fail=0
  for f in "$out"/stress_p*.log; do
    read -r ok fail skip <<< "$(tally "$f")"
    tot_ok=$((tot_ok + ok)); tot_fail=$((tot_fail + fail))
  done
  say "stress total: $((tot_ok + tot_fail)) split-KV test runs, $tot_ok passed, $tot_fail failed"
fi

# Failure details (first mismatch, bound, seed, config, launch, replay) of every stage so far.
grep -h -A14 -E 'Failure$' "$out"/warmup.log "$out"/stress_*.log > "$out/failures.txt" 2>/dev/null || true
if [ -s "$out/failures.txt" ]; then
  say "failures: details in $out/failures.txt; failing tests:"
  grep -h -E '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$out"/warmup.log "$out"/stress_*.log | grep -oE '^\[  FAILED  \] [^ ,]+' |
    sed 's/^\[  FAILED  \] //' | sort | uniq -c | sort -rn | head -n 20 | tee -a "$summary" || true
fi

# ---- (b) compute-sanitizer over the subset.
sanitizer=$(command -v compute-sanitizer || true)
for d in ${CUDA_HOME:-} /usr/local/cuda /usr/local/cuda-13.0 /usr/local/cuda-12; do
  [ -n "$sanitizer" ] && break
  [ -n "$d" ] && [ -x "$d/bin/compute-sanitizer" ] && sanitizer=$d/bin/compute-sanitizer
done
if [ "$sanitize" != 1 ]; then
  say "== sanitizers: skipped (GQAFORGE_SANITIZE=$sanitize)"
elif [ -z "$sanitizer" ]; then
  say "== sanitizers: compute-sanitizer not found (PATH, /usr/local/cuda/bin)"
  status=1
else
  say "== sanitizers: $sanitizer ($("$sanitizer" --version 2>/dev/null | tail -n 1)), filter: $san_filter"
  for tool in $tools; do
    if [ "$(left)" -lt 20 ]; then
      say "$tool: skipped (budget: $(left) s left)"
      continue
    fi
    t=$(( san_timeout < $(left) - 10 ? san_timeout : $(left) - 10 ))
    log=$out/sanitizer_$tool.log
    rc=0
    timeout "$t" "$sanitizer" --tool "$tool" --print-limit 50 \
      "$bin" --gtest_filter="$san_filter" > "$log" 2>&1 || rc=$?
    read -r ok fail skip <<< "$(tally "$log")"
    # compute-sanitizer ends with "ERROR SUMMARY: N errors"; racecheck prints (also, or
    # instead) "RACECHECK SUMMARY: N hazards displayed (E errors, W warnings)".
    errors=$(grep -oE 'ERROR SUMMARY: [0-9]+ error' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)
    hazards=$(grep -oE 'RACECHECK SUMMARY: [0-9]+ hazard[^)]*\)' "$log" | tail -n 1 || true)
    if [ -z "$errors" ] && [ -n "$hazards" ]; then
      errors=$(echo "$hazards" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+' || true)
    fi
    if [ "$rc" = 124 ]; then
      verdict="timed out after ${t}s (incomplete; raise GQAFORGE_SANITIZER_TIMEOUT)"
      status=1
    elif [ -z "$errors" ]; then
      verdict="no summary line (rc=$rc), see $log"
      status=1
    elif [ "$errors" = 0 ]; then
      verdict="0 errors"
    else
      verdict="$errors errors found"
      status=1
    fi
    [ -n "$hazards" ] && verdict="$verdict; $hazards"
    [ "$fail" = 0 ] || status=1
    say "$tool: $verdict (tests: $ok passed, $fail failed, $skip skipped; rc=$rc; ${SECONDS}s elapsed)"
  done
fi

say "== done in ${SECONDS}s: $([ "$status" = 0 ] && echo "all passed, sanitizers clean" || echo "FAILURES, see $summary")"
exit "$status"
