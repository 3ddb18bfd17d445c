#!/bin/bash
# Trains on a lent GPU machine (docs/MODELS.md, "Training on a lent GPU").
# Usage (as the device command): bash scripts/gpu_lease.sh WATCH_SECONDS JOBS_FILE [NAME_TO_STOP ...]
# JOBS_FILE: one run per line, "NAME segcore-train options" (no --out/--resume). Each run trains as a daemon
# (setsid) in $GPU_RUNS, outside the repository copy: each call re-sends the working tree and removes what git
# ignores there, run folders included, while daemons outlive the call as long as the machine stays warm. The call
# watches for WATCH_SECONDS (or until every run ends), then packs each run without its backup into $OUT/NAME.tar.
set -u
WATCH=$1; JOBS=$2; shift 2
RUNS_DIR=${GPU_RUNS:-/root/gpu-runs}
SITE=${GPU_SITE:-/tmp/site}           # where the carried wheels are installed, once per machine
if [ ! -f "$SITE/.installed" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" .whl/*.whl || exit 1
  touch "$SITE/.installed"
fi
command -v nvidia-smi > /dev/null && nvidia-smi -L
export PYTHONPATH=$SITE:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
mkdir -p "$RUNS_DIR"
for name in "$@"; do
  [ -f "$RUNS_DIR/$name.pid" ] && kill -- -"$(cat "$RUNS_DIR/$name.pid")" 2>/dev/null && echo "stopped $name"
  touch "$RUNS_DIR/$name.stopped"
done
running() { [ -f "$RUNS_DIR/$1.pid" ] && kill -0 "$(cat "$RUNS_DIR/$1.pid")" 2>/dev/null; }
names=()
while read -r name options || [ -n "$name" ]; do      # the last line may lack its newline
  [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
  names+=("$name"); run="$RUNS_DIR/$name"
  if [ -f "$run.stopped" ] || [ -f "$run/finished" ] || running "$name"; then continue; fi
  resume=""; [ -d "$run/backup" ] && resume=--resume
  setsid nohup bash -c "python3 -m segcore train $options --out $run $resume && touch $run/finished" \
    >> "$run.log" 2>&1 < /dev/null &
  echo $! > "$run.pid"
done < "$JOBS"
end=$((SECONDS + WATCH))
while [ $SECONDS -lt $end ]; do
  sleep 15; alive=0
  for name in "${names[@]}"; do running "$name" && alive=1; done
  [ $alive = 0 ] && break
done
for name in "${names[@]}"; do
  echo "== $name $([ -f "$RUNS_DIR/$name/finished" ] && echo finished)"
  grep -E " - val_loss" "$RUNS_DIR/$name.log" | tail -1 | cut -c1-160; grep -E "error:|Error|Traceback" "$RUNS_DIR/$name.log" | tail -2
  [ -d "$RUNS_DIR/$name" ] && tar -C "$RUNS_DIR" -cf "$OUT/$name.tar" --exclude=backup --exclude=logs --exclude=.lock "$name" "$name.log"
done
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
exit 0
