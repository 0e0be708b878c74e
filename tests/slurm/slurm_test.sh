#!/usr/bin/env bash
# The README's cluster recipe ("Tuning a GPU"), run for real. A private single-host Slurm
# (munged, slurmctld and slurmd on localhost, Debian's slurm-wlm, installed when missing) runs
# the README's job array over examples/slurm/tune-array.sbatch on the synthetic backend; one task
# is cancelled halfway and resubmitted alone with the README's line; the README's merge of the
# parts must equal the README's single-process run of the same sweep: the same problems, tries
# (kernel, config, status, every number) and winners. The README's lines are read from the
# README and run as they are written.
# Usage: slurm_test.sh SOURCE_DIR GQAFORGE_BINARY
# Exit 77 (CTest: skipped) with the reason when Slurm cannot be installed or started here.
set -euo pipefail

src=$1
gqaforge=$2
started=$SECONDS
# Every wait below is bounded by what is left of 540 s, so the test ends (and stops its
# daemons) before CTest's TIMEOUT of 600 s would kill it without cleaning up.
deadline=$((SECONDS + 540))

skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
log() { echo "[$((SECONDS - started))s] $*"; }
left() {
  local l=$((deadline - SECONDS))
  echo $((l > 1 ? l : 1))
}

# ---- Slurm, installed when missing (apt-get, as tools/setup.sh does) ----
export PATH=$PATH:/usr/sbin:/sbin
[ "$(id -u)" -eq 0 ] || skip "needs root: slurmd starts each job as its user"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null ||
   ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || skip "slurm-wlm is not installed and there is no apt-get"
  log "installing slurm-wlm"
  export DEBIAN_FRONTEND=noninteractive
  { timeout "$(left)" apt-get install -y --no-install-recommends slurm-wlm >/dev/null 2>&1 ||
    { timeout "$(left)" apt-get update >/dev/null 2>&1 &&
      timeout "$(left)" apt-get install -y --no-install-recommends slurm-wlm >/dev/null 2>&1; }; } ||
    skip "slurm-wlm is not installed and apt-get could not install it"
fi

tmp=$(mktemp -d /tmp/gqaforge-slurm.XXXXXX)  # short: munged's socket path has a length limit
mkdir -p "$tmp"/{munge,sock,state,spool,log,single,cluster}
chmod 700 "$tmp/munge"
chmod 755 "$tmp" "$tmp/sock"  # munged requires a socket directory everyone can enter
logs=$tmp/log
pids=()    # daemons, stopped in reverse order
waiters=() # sbatch --wait processes of this test

passed=0
cleanup() {
  local rc=$?
  set +e
  trap - ERR
  if [ -n "${SLURM_CONF:-}" ] && [ ${#pids[@]} -ge 2 ]; then
    mapfile -t jobs < <(squeue -h -o %A 2>/dev/null)
    [ ${#jobs[@]} -eq 0 ] || scancel "${jobs[@]}" 2>/dev/null
    for _ in $(seq 100); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  for p in "${waiters[@]}"; do  # a subshell running `timeout ... sbatch --wait`
    pkill -TERM -P "$p" 2>/dev/null
    kill "$p" 2>/dev/null
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null
    for _ in $(seq 50); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.2; done
    kill -9 "${pids[i]}" 2>/dev/null
    wait "${pids[i]}" 2>/dev/null
  done
  if [ "$passed" = 1 ]; then
    rm -rf "$tmp"
  elif [ "$rc" -ne 77 ]; then
    for f in "$logs"/*.log "$tmp"/cluster/tune-*.log; do
      [ -f "$f" ] && { echo "--- $f (last lines)"; tail -n 15 "$f"; }
    done
    echo "kept for inspection: $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
set -E
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 143' TERM INT

# ---- munged with a private key and socket ----
key=$tmp/munge/munge.key
if command -v mungekey >/dev/null; then
  mungekey --create --keyfile="$key" >/dev/null 2>&1 || skip "mungekey could not create a key"
else
  dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
fi
chmod 600 "$key"
socket=$tmp/sock/munge.socket
munged --foreground --key-file="$key" --socket="$socket" --pid-file="$tmp/munge/munged.pid" \
  --seed-file="$tmp/munge/munged.seed" >"$logs/munged.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.2; done
munge -S "$socket" -n 2>/dev/null | unmunge -S "$socket" >/dev/null 2>&1 ||
  skip "munged did not start: $(tail -n 3 "$logs/munged.log" | tr '\n' ' ')"

# ---- slurmctld and slurmd on localhost, ports nothing listens on ----
listening=" $(tail -q -n +2 /proc/net/tcp /proc/net/tcp6 2>/dev/null |
  while read -r _ local _ state _; do if [ "$state" = 0A ]; then echo $((16#${local##*:})); fi; done | tr '\n' ' ') "
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    [[ $listening == *" $p "* || $listening == *" $((p + 1)) "* ]] || { echo "$p"; return; }
  done
  return 1
}
port=$(free_port) || skip "no free TCP port pair for slurmctld and slurmd"
# The node as slurmd sees it (real CPU count and memory), named localhost; two stand-in GPUs
# (the README's --gpus=1 needs a gpu GRES; /dev/null and /dev/zero are files every host has),
# so two tasks run at a time.
node=$(slurmd -C 2>/dev/null | head -n 1 | sed -E 's/^NodeName=[^ ]+/NodeName=localhost/; s/ *$//')
[[ $node == NodeName=localhost*CPUs=* ]] || skip "slurmd -C did not describe this host: $node"
cat >"$tmp/slurm.conf" <<EOF
ClusterName=gqaforge-test
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=10
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$logs/jobcomp.txt
GresTypes=gpu
$node Gres=gpu:2 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
printf 'NodeName=localhost Name=gpu File=/dev/null\nNodeName=localhost Name=gpu File=/dev/zero\n' >"$tmp/gres.conf"
export SLURM_CONF=$tmp/slurm.conf
slurmctld -D >"$logs/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost >"$logs/slurmd.out" 2>&1 &
pids+=($!)
state=
for _ in $(seq 150); do
  state=$(sinfo -h -N -o %t 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] || skip "Slurm did not start (node state '${state:-none}'): $(tail -n 3 "$logs/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
log "slurm up: $node, ports $port and $((port + 1))"

# ---- the README's recipe ----
# The lines of the README's "Tuning a GPU" block, each found by how it starts (exactly one).
block=$(awk '/^## Tuning a GPU/ { t = 1; next } t && /^```/ { if (++n == 2) exit; next } t && n == 1' "$src/README.md")
recipe_line() {
  local found
  found=$(grep -E "^$1" <<<"$block" || true)
  if [ -z "$found" ] || [ "$(wc -l <<<"$found")" -ne 1 ]; then
    fail "README.md's \"Tuning a GPU\" block has no single line starting with '$1' (the recipe changed?)"
  fi
  echo "$found"
}
sweep_def=$(awk '/^sweep=\(/ { s = 1 } s { sub(/^[ \t]+/, ""); printf "%s ", $0 } s && /\)$/ { exit }' <<<"$block")
[ -n "$sweep_def" ] || fail "README.md's \"Tuning a GPU\" block defines no sweep=(...)"
single_line=$(recipe_line 'gqaforge tune ')
array_line=$(recipe_line 'sbatch --array=')
resubmit_line=$(recipe_line 'GQAFORGE_SHARDS=')
merge_line=$(recipe_line 'gqaforge db merge ')
[[ $array_line =~ --array=0-([0-9]+)\  ]] || fail "the README's array is not 0-N: $array_line"
shards=$((BASH_REMATCH[1] + 1))
[[ $resubmit_line =~ ^GQAFORGE_SHARDS=([0-9]+)\ sbatch\ --array=([0-9]+)\  ]] ||
  fail "the README's resubmission is not GQAFORGE_SHARDS=N sbatch --array=I ...: $resubmit_line"
[ "${BASH_REMATCH[1]}" -eq "$shards" ] || fail "the README resubmits with GQAFORGE_SHARDS=${BASH_REMATCH[1]}, its array has $shards tasks"
victim=${BASH_REMATCH[2]}
[ "${resubmit_line#GQAFORGE_SHARDS=* }" = "${array_line/--array=0-$((shards - 1))/--array=$victim}" ] ||
  fail "the README's resubmission is not its array line for one task: $resubmit_line"
log "README: $shards shards, task $victim resubmitted; sweep: $sweep_def"

# `gqaforge` is this build's; the sbatch script measures where GQAFORGE_BACKEND says.
PATH=$(dirname "$gqaforge"):$PATH
export PATH GQAFORGE_BACKEND=synthetic
[ "$(command -v gqaforge)" = "$gqaforge" ] || fail "gqaforge resolves to $(command -v gqaforge), not $gqaforge"
ln -s "$src/examples" "$tmp/cluster/examples"  # the README's relative path to the script
# Runs README lines in a directory (after the sweep's definition); more words are appended.
run_readme() {
  local dir=$1
  shift
  (cd "$dir" && eval "$sweep_def" && eval "$*")
}
measurements() { # measurements in a database (0 when it does not exist yet)
  [ -f "$1" ] || { echo 0; return; }
  gqaforge db info --db "$1" --json 2>/dev/null | sed -n 's/^ *"measurements": \([0-9]*\),$/\1/p' | grep . || echo 0
}
unfinished() { gqaforge db info --db "$1" --json | sed -n 's/^ *"unfinished_runs": \([0-9]*\),$/\1/p'; }
task_state() { # task_state JOB TASK: the JobState jobcomp recorded for one array task
  sed -n "s/.*JobState=\([A-Z_]*\) .*ArrayJobId=$1 ArrayTaskId=$2 .*/\1/p" "$logs/jobcomp.txt" 2>/dev/null | tail -n 1
}

# 1. The reference: the README's one-GPU command, one process.
log "single process: $single_line --backend synthetic"
run_readme "$tmp/single" "${single_line/gqaforge /timeout $(left) gqaforge } --backend synthetic --quiet" >"$logs/single.log" 2>&1 ||
  fail "the single-process sweep failed: $(tail -n 3 "$logs/single.log")"

# 2. The array; task $victim is cancelled once its database holds measurements.
log "cluster: $array_line"
run_readme "$tmp/cluster" "${array_line/sbatch /timeout $(left) sbatch }" >"$logs/array.log" 2>&1 &
array_pid=$!
waiters+=("$array_pid")
job=
for _ in $(seq 300); do
  job=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$logs/array.log")
  [ -n "$job" ] && break
  kill -0 "$array_pid" 2>/dev/null || fail "sbatch failed: $(cat "$logs/array.log")"
  sleep 0.1
done
[ -n "$job" ] || fail "sbatch printed no job id in 30 s"
part=$tmp/cluster/part-$victim.sqlite
rows=0
for _ in $(seq 1200); do
  rows=$(measurements "$part")
  [ "$rows" -gt 0 ] && break
  sleep 0.05
done
[ "$rows" -gt 0 ] || fail "task ${job}_$victim stored no measurement within a minute"
scancel "${job}_$victim"
log "cancelled task ${job}_$victim after it stored $rows measurements"
array_rc=0
wait "$array_pid" || array_rc=$?
[ "$array_rc" -ne 124 ] || fail "the job array did not finish in time"
[ "$array_rc" -ne 0 ] || fail "sbatch --wait returned 0 although task $victim was cancelled"
# Each task's end as Slurm recorded it (jobcomp), given a few seconds to be written.
states_are_right() {
  local t want
  for ((t = 0; t < shards; t++)); do
    want=COMPLETED
    [ "$t" -ne "$victim" ] || want=CANCELLED
    [ "$(task_state "$job" "$t")" = "$want" ] || return 1
  done
}
for _ in $(seq 50); do states_are_right && break; sleep 0.2; done
states_are_right || fail "the tasks ended $(for ((t = 0; t < shards; t++)); do echo -n "$t:$(task_state "$job" "$t") "; done)" \
  "(expected COMPLETED, task $victim CANCELLED)"
killed_rows=$(measurements "$part")
[ "$(unfinished "$part")" = 1 ] || fail "the cancelled task's run is not unfinished: it was not cancelled halfway"
grep -q "interrupted" "$tmp/cluster/tune-${job}_$victim.log" ||
  fail "the cancelled task's log does not say it was interrupted"
log "task $victim: cancelled halfway with $killed_rows measurements stored, its run unfinished"

# 3. The script refuses a one-task array without the sweep's shard count (shard 0/1 or 2/1).
guard_rc=0
without_count=${resubmit_line#GQAFORGE_SHARDS=* }
run_readme "$tmp/cluster" "${without_count/sbatch /timeout $(left) sbatch }" >"$logs/guard.log" 2>&1 || guard_rc=$?
[ "$guard_rc" -eq 2 ] || fail "resubmitting without GQAFORGE_SHARDS: sbatch --wait returned $guard_rc, not 2"
guard_job=$(sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' "$logs/guard.log")
grep -q "set GQAFORGE_SHARDS" "$tmp/cluster/tune-${guard_job}_$victim.log" ||
  fail "the refusal does not name GQAFORGE_SHARDS"
[ "$(measurements "$part")" = "$killed_rows" ] || fail "the refused resubmission changed part-$victim.sqlite"

# 4. The README's resubmission resumes the shard, then the README's merge.
log "resubmit: $resubmit_line"
run_readme "$tmp/cluster" "${resubmit_line/sbatch /timeout $(left) sbatch }" >"$logs/resubmit.log" 2>&1 ||
  fail "the resubmitted task failed: $(tail -n 3 "$logs/resubmit.log")"
[ "$(measurements "$part")" -gt "$killed_rows" ] || fail "the resubmitted task added no measurement"
log "merge: $merge_line"
run_readme "$tmp/cluster" "${merge_line/gqaforge /timeout $(left) gqaforge }" >"$logs/merge.log" 2>&1 || fail "db merge failed: $(cat "$logs/merge.log")"

# ---- the merged shards against the single process ----
merged=$tmp/cluster/h100.sqlite
single=$tmp/single/h100.sqlite
parts_total=0
for ((t = 0; t < shards; t++)); do
  n=$(measurements "$tmp/cluster/part-$t.sqlite")
  [ "$n" -gt 0 ] || fail "shard $t measured nothing"
  parts_total=$((parts_total + n))
done
[ "$parts_total" = "$(measurements "$merged")" ] || fail "the parts overlap: $parts_total rows in all, $(measurements "$merged") merged"
[ "$(unfinished "$merged")" = 1 ] || fail "the merged file should keep the cancelled run, unfinished"
# The export minus what differs by design: the tune runs (ids, command lines, times) and each
# row's run id and measurement time. Everything else, environment included, must be equal.
normalized() {
  gqaforge db export --db "$1" | awk -F'\t' -v OFS='\t' '
    /^# end / { next }
    /^@/ {
      section = $1; delete drop
      for (i = 2; i <= NF; i++) if ($i == "measured_at" || $i == "run_uid") drop[i - 1] = 1
    }
    section == "@tune_runs" { next }
    /^@/ { line = $1; for (i = 2; i <= NF; i++) if (!((i - 1) in drop)) line = line OFS $i; print line; next }
    { line = ""; for (i = 1; i <= NF; i++) if (!(i in drop)) line = line (line == "" ? "" : OFS) $i; print line }'
}
normalized "$single" >"$tmp/single.tsv"
normalized "$merged" >"$tmp/merged.tsv"
diff "$tmp/single.tsv" "$tmp/merged.tsv" >"$tmp/export.diff" ||
  fail "the merged shards differ from the single process: $(head -n 20 "$tmp/export.diff")"
gqaforge db best --db "$single" --wide >"$tmp/single.best"
gqaforge db best --db "$merged" --wide >"$tmp/merged.best"
diff "$tmp/single.best" "$tmp/merged.best" >/dev/null || fail "the winners differ: $(diff "$tmp/single.best" "$tmp/merged.best" | head)"
# Tries, problems and marked winners of the compared rows.
read -r tries problems winners < <(awk -F'\t' '
  /^@measurements/ { m = 1; for (i = 2; i <= NF; i++) if ($i == "is_best") best = i - 1; next }
  /^@/ { m = 0; next }
  m { ++tries; key = $1; for (i = 2; i <= 13; i++) key = key FS $i; problem[key] = 1; winners += ($best == "1") }
  END { n = 0; for (k in problem) ++n; print tries + 0, n, winners + 0 }' "$tmp/merged.tsv")
if [ "$tries" -eq 0 ] || [ "$problems" -eq 0 ] || [ "$winners" -ne "$problems" ]; then
  fail "expected one winner per problem: $tries tries, $problems problems, $winners winners"
fi
passed=1
log "PASS: $shards shards (task $victim cancelled at $killed_rows rows, resubmitted) merged = one process:" \
    "$problems problems, $tries tries, $winners winners"
