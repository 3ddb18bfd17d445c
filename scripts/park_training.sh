#!/usr/bin/env bash
# Keep an unfinished CPU training across sessions whose machines start fresh (folders outside the repository are
# lost; only git history survives). Parking commits the run's resume state (its newest complete backup, meta.json,
# history.csv, augment.json: about 12 MB for the U-Net; not its TensorBoard logs; its model.keras, the best epoch's
# weights, unless it trains on its val split and so rewrites it every epoch) as models/.parked/NAME.tar, then
# its removal, so the history holds it and the tree stays light (a lent GPU machine takes the tree in 64 MiB).
# Commits only that file.
#   bash scripts/park_training.sh park RUN_DIR          commit RUN_DIR's state (it must have backup/)
#   bash scripts/park_training.sh unpark NAME DEST      the last parked state of NAME back as DEST/NAME
# Then `segcore train ... --out DEST/NAME --resume` with the run's original options (docs/MODELS.md).
# PYTHON names the interpreter with segcore (.venv/bin/python).
set -euo pipefail
fail() { echo "park_training: $*" >&2; exit 2; }
usage="usage: bash scripts/park_training.sh park RUN_DIR | unpark NAME DEST"
[ $# -ge 2 ] || fail "$usage"

case $1 in
  park)
    [ $# -eq 2 ] || fail "$usage"
    run=$(cd "$2" 2>/dev/null && pwd) || fail "$2: no such run folder"
    name=$(basename "$run")
    [ -d "$run/backup" ] || fail "$run has no backup/ folder: only an unfinished training is parked"
    cd "$(dirname "$0")/.."
    git symbolic-ref -q HEAD > /dev/null || fail "HEAD is detached: check out a branch first (a commit made here is lost)"
    # "EPOCHS OLDER_SLOT": the newest complete backup is what a resume reads; the other slot is left out.
    said=$("${PYTHON:-.venv/bin/python}" - "$run" <<'EOF'
import sys

from segcore.run_lock import live_holder
from segcore.runs import META_FILE, read_json
from segcore.train_backup import BACKUP_DIR, SLOTS, complete_backups
from segcore.train_config import trains_on_val

run = sys.argv[1]
if live_holder(run):
    sys.exit(f"park_training: {run} is training now: stop its process, then park it")
backups = complete_backups(f"{run}/{BACKUP_DIR}")
if not backups:
    sys.exit(f"park_training: {run}/{BACKUP_DIR} holds no complete backup to resume from")
meta = read_json(f"{run}/{META_FILE}")
# A run choosing its best epoch on val keeps that epoch's weights only in model.keras: a resumed run saves it
# again only if a later epoch beats the best, so it travels with the backup. A final run rewrites it every epoch.
model = "rewritten" if trains_on_val(meta.get("config") or {}) else "kept"
print(f"{backups[0].epoch}/{meta.get('epochs', '?')}", next(s for s in SLOTS if s != backups[0].slot.name), model)
EOF
)
    read -r epochs older model <<< "$said"
    parked=models/.parked/$name.tar
    mkdir -p models/.parked
    skip_model=()
    [ "$model" = kept ] || skip_model=(--exclude "$name/model.keras")
    tar -C "$(dirname "$run")" -cf "$parked" --exclude "$name/.lock" "${skip_model[@]}" \
        --exclude "$name/logs" --exclude "$name/backup/$older" "$name"
    git add -f "$parked"
    git commit -q -m "Park the training $name at epoch $epochs (back: scripts/park_training.sh unpark $name DEST)" \
        -- "$parked"
    git rm -q "$parked"
    git commit -q -m "Parked training $name: kept in history only (scripts/park_training.sh)" -- "$parked"
    echo "parked $run at epoch $epochs in commit $(git rev-parse --short HEAD~1)"
    ;;
  unpark)
    [ $# -eq 3 ] || fail "$usage"
    name=$2
    dest=$(mkdir -p "$3" && cd "$3" && pwd) || fail "$3: can't make that folder"
    cd "$(dirname "$0")/.."
    parked=models/.parked/$name.tar
    commit=$(git log -n 1 --format=%H --diff-filter=A -- "$parked")
    [ -n "$commit" ] || fail "no parked training called $name in this repository's history"
    [ ! -e "$dest/$name" ] || fail "$dest/$name exists: move it away or give another DEST"
    git show "$commit:$parked" | tar -C "$dest" -xf -
    echo "unparked $name from commit $(git rev-parse --short "$commit") into $dest/$name: resume it with --resume"
    ;;
  *) fail "$usage" ;;
esac
