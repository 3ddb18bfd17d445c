#!/usr/bin/env bash
# Ship a finished training run as models/NAME the way the shipped runs were (docs/MODELS.md, "Shipping a run"):
# the four files a run needs (not its logs), test-time flip as its default, its evaluation of the val split stored,
# and every shipped run's evaluations given the frames' distances to train (segcore unlike-train --store).
#   bash scripts/ship_run.sh RUN_DIR NAME [DATA]      DATA: ../shared/data/camvid unless given
# MODELS names the runs folder (models), PYTHON the interpreter with segcore (.venv/bin/python).
# Afterwards, by hand: the tests that list the shipped runs and docs/MODELS.md.
set -euo pipefail
fail() { echo "ship_run: $*" >&2; exit 2; }
[ $# -ge 2 ] || fail "usage: bash scripts/ship_run.sh RUN_DIR NAME [DATA]"
run=$1 name=$2 data=${3:-../shared/data/camvid}
models=${MODELS:-models} python=${PYTHON:-.venv/bin/python}
dest=$models/$name

[ -f "$run/model.keras" ] && [ -f "$run/meta.json" ] || \
  fail "$run holds no finished run (model.keras and meta.json): give the folder segcore train wrote"
[ ! -d "$run/backup" ] || fail "$run is still training or was interrupted (it has backup/): finish it with --resume"
# A lease packs runs without their backup/, finished or not: meta.json says whether training ran to its end.
"$python" - "$run/meta.json" <<'EOF' || exit 2
import sys

from segcore.runs import read_json

meta = read_json(sys.argv[1])
done, planned = meta.get("epochs_completed"), meta.get("epochs")
if "finished" not in meta or done != planned:
    sys.exit(f"ship_run: {sys.argv[1]} says {done} of {planned} epochs and no end of training: finish the run "
             "(segcore train ... --resume) before shipping it")
EOF
[ -d "$data" ] || fail "$data: no such data set folder"
[ ! -e "$dest" ] || fail "$dest exists: remove it or choose another NAME"

mkdir -p "$dest"
trap 'rm -rf "$dest"; echo "ship_run: nothing shipped: $dest removed" >&2' ERR   # no half-shipped run in the app
for file in model.keras meta.json history.csv augment.json; do
  if [ -f "$run/$file" ]; then cp "$run/$file" "$dest/"; fi
done
"$python" - "$dest/meta.json" <<'EOF'
import sys

from segcore.runs import read_json, write_json

meta = read_json(sys.argv[1])
meta["tta"] = "flip"        # mirrored frame averaged in: +1 to +2 val mIoU for about twice the time (docs/MODELS.md)
write_json(sys.argv[1], meta)
EOF
"$python" -m segcore evaluate --run "$dest" --data "$data" --split val --quiet
"$python" -m segcore unlike-train --data "$data" --runs "$models"/*/ --store
trap - ERR
echo "shipped $run as $dest"
