"""One-off: rewrite old-format evaluation JSONs (paths as given, data set by folder name, file <name>-<split>.json)
in the current format (paths relative to the data set, the data set recorded once, file keyed by its fingerprint).

No model is run: the numbers are copied unchanged; only the record of where the frames live changes. The data set
it was computed on must be at --data (the frames are matched by name and fingerprinted there).

    .venv/bin/python benchmarks/migrate_evaluations.py --data ../shared/data/camvid models/*/eval/camvid-val.json
"""
from __future__ import annotations

import argparse
from pathlib import Path

from segcore import evaluations, runs


def migrate_file(path: Path, data: Path) -> Path:
    old = runs.read_json(path)
    if old.get("format") == evaluations.FORMAT:
        return path
    new = evaluations.migrate(old, data)
    target = evaluations.evaluation_file(path.parent.parent, new["dataset"])
    assert new["class_level"] == old["class_level"] and new["category_level"] == old["category_level"]
    runs.write_json(target, new)
    if target != path:
        path.unlink()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="old-format RUN/eval/*.json files")
    parser.add_argument("--data", required=True, type=Path, help="the data set folder they were computed on")
    args = parser.parse_args()
    for path in args.files:
        print(f"{path} -> {migrate_file(path, args.data)}")


if __name__ == "__main__":
    main()
