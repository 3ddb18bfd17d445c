"""Command line front door: `segcore data check`, `sample make`, `train`, `evaluate`, `predict`, `unlike-train`,
`import`, `export`, `review`.

Every expected failure (bad folder, bad file, bad option) ends as one line on stderr and exit code 2.
Output is what the user asked for: TensorFlow's start-up logs are shown only with --verbose.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

from segcore.cli_models import add_import_export, add_predict
from segcore.predict import TTA_MODES
from segcore.train_config import LOSSES

# Commands that run a model; only these pay for importing TensorFlow.
TENSORFLOW_COMMANDS = ("train", "evaluate", "predict", "export")
TTA_HELP = ("test-time augmentation: none; flip (also the mirrored frame, probabilities averaged; twice the model "
            "time); multiscale (flip at 0.75, 1, 1.25 and 1.5x the input size; Keras runs of a segcore "
            "architecture or models with free input sides; about 11 times the model time). Default: the run's "
            "own (meta.json \"tta\", else none)")


def _size(text: str) -> tuple[int, int]:
    from segcore.frames import parse_size
    try:
        height, width = parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if height < 8 or width < 8:
        raise argparse.ArgumentTypeError("size must be at least 8x8")
    return height, width


def cmd_data_check(args) -> int:
    from segcore.datasets import check, format_report
    report = check(args.dir, args.schema)
    print(format_report(report))
    return 0 if report.ok else 1


def say_left_out(data, splits) -> None:
    """A note on stderr for each split whose unpaired files a command leaves out (it reads only the pairs)."""
    from segcore.datasets import DatasetError, left_out_note
    for split in dict.fromkeys(splits):
        try:
            note = left_out_note(data, split)
        except (DatasetError, OSError):      # a missing split or folder: the command itself says so
            continue
        if note:
            print(f"segcore: note: {note}", file=sys.stderr)


def cmd_data_pack(args) -> int:
    from segcore.datapack import pack
    say_left_out(args.dir, args.split or ("train", "val"))
    info = pack(args.dir, args.out, splits=tuple(args.split or ("train", "val")), jpeg_quality=args.jpeg_quality)
    print(f"packed {info['frames']} frames into {args.out}: {info['bytes'] / 1e6:.1f} MB, JPEG quality "
          f"{info['jpeg_quality']} (mean absolute error {info['mean_abs_error']:.2f} of 255), labels unchanged")
    return 0


def cmd_sample_make(args) -> int:
    from segcore.synth import make_sample
    result = make_sample(args.out, n_train=args.train, n_val=args.val, seed=args.seed)
    print(f"wrote {result['train']} train and {result['val']} val frames to {args.out}")
    return 0


def _arch_options(items) -> dict:
    options = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            if not (sep and key):
                raise ValueError
            options[key] = float(value) if "." in value or "e" in value.lower() else int(value)
        except ValueError:
            raise ValueError(f"--option expects KEY=NUMBER, e.g. base_filters=32, got {item!r}") from None
    return options


def train_config(args):
    """The `TrainConfig` that `segcore train` arguments ask for (checked by it)."""
    from segcore.train_config import TrainConfig
    return TrainConfig(arch=args.arch, data=args.data, out=args.out, schema=args.schema, size=args.size,
                       epochs=args.epochs, batch=args.batch, augment=args.augment,
                       class_weights=args.class_weights, learning_rate=args.lr, strategy=args.strategy,
                       loader=args.loader, seed=args.seed, arch_options=_arch_options(args.option),
                       steps_per_epoch=args.steps_per_epoch, init_from=args.init_from, loss=args.loss,
                       warmup_epochs=args.warmup_epochs, holdout_sequence=args.holdout_sequence,
                       train_split=args.train_split)


def cmd_train(args) -> int:
    from segcore.train import train
    from segcore.train_config import train_splits
    config = train_config(args)
    say_left_out(config.data, [*train_splits({"train_split": config.train_split}),
                               *([] if config.holdout_sequence else [config.val_split])])
    out = train(config, resume=args.resume)
    print(f"run saved in {out}")
    return 0


def cmd_evaluate(args) -> int:
    from segcore.evaluate import evaluate_run, format_evaluation, merge_files, parse_shard
    if args.merge:
        if not args.out or args.run or args.data or args.shard:
            raise ValueError("--merge takes the shard files and --out JSON only (no --run, --data or --shard)")
        result, path = merge_files(args.merge, args.out, overwrite=args.overwrite)
    else:
        if not (args.run and args.data):
            raise ValueError("give --run RUN and --data DIR (or --merge PARTS... --out JSON)")
        shard = parse_shard(args.shard) if args.shard else None
        say_left_out(args.data, [args.split])
        result, path = evaluate_run(args.run, args.data, args.split, schema=args.schema, out=args.out,
                                    progress=not args.quiet, overwrite=args.overwrite, level=args.level,
                                    shard=shard, tta=args.tta)
    print(format_evaluation(result))
    print(f"wrote {path}")
    return 0


def cmd_augment_stats(args) -> int:
    import json

    from segcore import augment
    from segcore.datasets import list_pairs, schema_for
    schema = schema_for(args.data)
    steps = augment.steps_from_pipeline_file(args.pipeline)
    frames = augment.DatasetFrames(list_pairs(args.data, args.split), schema)
    stats = augment.augmentation_stats(steps, frames, draws=args.draws, seed=args.seed, schema=schema)
    print(json.dumps(stats) if args.json else augment.format_stats(stats))
    return 0


def cmd_unlike_train(args) -> int:
    from segcore.unlike_train import format_report, score_runs
    print(format_report(score_runs(args.data, args.runs, split=args.split, train_split=args.train_split,
                                   share=args.share, level=args.level, store=args.store,
                                   log=lambda text: print(text, file=sys.stderr, flush=True))))
    if args.store:
        print(f"stored each frame's distance in the {len(args.runs)} evaluations: the Evaluation page now shows "
              "the least-alike quarter's mIoU")
    return 0


def cmd_review(args) -> int:
    from segcore import class_colours, runs
    from segcore.labels import category_schema
    from segcore.review import write_review
    reviewed = [runs.open_run(folder) for folder in args.runs]
    colours = None
    if args.class_colours:
        colours = class_colours.read(args.class_colours)
        class_colours.check(colours, [*(run.schema for run in reviewed if run.ok), category_schema()])
    path, key = write_review(reviewed, args.out, args.evaluation, args.data, colours)
    print(f"wrote {path} (evaluation {key} of {len(args.runs)} run{'' if len(args.runs) == 1 else 's'}; open it in "
          "any browser, offline)")
    return 0


class _OneLineParser(argparse.ArgumentParser):
    """argparse's errors as one line (it prints the whole usage block first); subcommands inherit the class."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = _OneLineParser(prog="segcore", description="Street-scene segmentation: data, training, evaluation and "
                                                     "prediction.")
    sub = top.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="data set tools").add_subparsers(dest="data_command", required=True)
    check = data.add_parser("check", help="pair images and labels, report counts, sizes, class shares, problems")
    check.add_argument("dir", help="data set folder (CamVid style, SegNet tutorial or Cityscapes layout)")
    check.add_argument("--schema", default=None, help="camvid11 | cityscapes (default: from the layout)")
    check.set_defaults(func=cmd_data_check)
    packer = data.add_parser("pack", help="a compact copy (JPEG images, the same labels) to carry to a GPU machine")
    packer.add_argument("dir", help="CamVid-style data set folder (images/ + labels/)")
    packer.add_argument("--out", required=True, help="new folder to write the pack to")
    packer.add_argument("--split", action="append", default=None,
                        help="split to pack (repeatable; default: train and val)")
    packer.add_argument("--jpeg-quality", type=int, default=88,
                        help="JPEG quality of the images, 50-100 (default: 88: CamVid train+val in ~24 MB)")
    packer.set_defaults(func=cmd_data_pack)

    sample = sub.add_parser("sample", help="sample data").add_subparsers(dest="sample_command", required=True)
    make = sample.add_parser("make", help="regenerate the procedural sample data set (byte-identical)")
    make.add_argument("--out", default="data/sample", help="folder to write (default: data/sample)")
    make.add_argument("--train", type=int, default=16, help="number of train frames (default: 16)")
    make.add_argument("--val", type=int, default=8, help="number of val frames (default: 8)")
    make.add_argument("--seed", type=int, default=0, help="scene seed; the same seed gives the same files")
    make.set_defaults(func=cmd_sample_make)

    train = sub.add_parser("train", help="train a model into a run folder")
    train.add_argument("--arch", required=True, choices=["unet", "segnet", "segnet-mobilenet"],
                       help="architecture: unet, segnet (VGG16 encoder) or segnet-mobilenet")
    train.add_argument("--data", required=True, help="labelled data set folder with train and val splits")
    train.add_argument("--schema", default=None, help="label schema, e.g. camvid11 (default: from the layout)")
    train.add_argument("--size", type=_size, default=(240, 320), help="HxW model input, e.g. 240x320")
    train.add_argument("--epochs", type=int, default=30, help="epochs to train, at least 1 (default: 30)")
    train.add_argument("--batch", type=int, default=8, help="images per batch, at least 1 (default: 8)")
    train.add_argument("--augment", default=None, help="albumentations pipeline JSON/YAML (e.g. from the lab)")
    train.add_argument("--class-weights", default="none", choices=["none", "median-frequency"],
                       help="loss weights per class: none, or SegNet's median-frequency balancing")
    train.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine decay; default: 1e-3)")
    train.add_argument("--out", required=True,
                       help="run folder to create, e.g. models/my-unet (locked while training)")
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted run in --out (with the same options)")
    train.add_argument("--strategy", default="default", choices=["default", "mirrored", "multiworker"],
                       help="tf.distribute strategy; multiworker reads its workers from TF_CONFIG")
    train.add_argument("--loader", default="tf", choices=["tf", "pydataset"],
                       help="input pipeline: tf.data (TensorFlow) or a Keras PyDataset (any backend)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed for weights, shuffling and augmentation draws (0 to 4294967295)")
    train.add_argument("--steps-per-epoch", type=int, default=None,
                       help="batches per epoch (default: one pass over the train split)")
    train.add_argument("--option", action="append", metavar="KEY=VALUE",
                       help="architecture option, e.g. base_filters=32 (repeatable)")
    train.add_argument("--init-from", metavar="RUN", default=None,
                       help="start from a finished run's weights (same --arch and options; any --size)")
    train.add_argument("--loss", default="ce", choices=LOSSES,
                       help="ce: pixel cross-entropy (class-weighted by --class-weights); ce+dice: plus soft Dice; "
                            "lovasz: plus Lovasz-softmax (both over the classes present in a batch; default: ce)")
    train.add_argument("--warmup-epochs", type=int, default=0, metavar="N",
                       help="rise linearly from 0 to --lr over N epochs, then the cosine decay (default: 0)")
    train.add_argument("--holdout-sequence", default=None, metavar="SEQ",
                       help="validate on the train frames of sequence SEQ (file names SEQ_<frame>, e.g. 0006R0) "
                            "and train on the other sequences, instead of validating on the val split")
    train.add_argument("--train-split", default="train", metavar="SPLITS",
                       help="split(s) to train on, joined by '+' (default: train). train+val trains a final model "
                            "on both once val has chosen the recipe: val then can't choose an epoch, the last is kept")
    train.set_defaults(func=cmd_train)

    augment = sub.add_parser("augment", help="augmentation pipeline tools").add_subparsers(
        dest="augment_command", required=True)
    stats = augment.add_parser("stats", help="draw many augmentations of a data set's frames and report how often "
                                             "each step fires, on/off combinations and class shares")
    stats.add_argument("pipeline", help="pipeline JSON/YAML file (as the lab exports it)")
    stats.add_argument("--data", required=True, help="data set folder whose frames are augmented")
    stats.add_argument("--split", default="train", help="split to draw frames from (default: train)")
    stats.add_argument("--draws", type=int, default=400, help="number of augmentations to draw (default: 400)")
    stats.add_argument("--seed", type=int, default=0, help="seed of the first draw; the same seed gives the "
                                                          "same report (default: 0)")
    stats.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    stats.set_defaults(func=cmd_augment_stats)

    evaluate = sub.add_parser("evaluate", help="score a run on a labelled split; writes eval JSON")
    evaluate.add_argument("--run", default=None, help="run folder, e.g. models/unet-camvid")
    evaluate.add_argument("--data", default=None, help="labelled data set folder")
    evaluate.add_argument("--level", default=None, choices=["class", "category"],
                          help="class (default; data labelled in the run's schema) or category: fold model and "
                               "data onto the 7 shared categories, for data labelled in another schema")
    evaluate.add_argument("--shard", default=None, metavar="I/N",
                          help="score every N-th frame from frame I (0-based) and write a partial result "
                               "(default file: RUN/eval/shards/); combine the N parts with --merge")
    evaluate.add_argument("--merge", nargs="+", default=None, metavar="PART",
                          help="add up the shard files of one evaluation into the JSON a single run writes "
                               "(needs --out)")
    evaluate.add_argument("--split", default="val", help="split to score (default: val)")
    evaluate.add_argument("--schema", default=None, help="label schema of the data (default: from the layout)")
    evaluate.add_argument("--out", default=None,
                          help="JSON path (default: RUN/eval/<dataset>-<fingerprint>-<split>.json); each frame's "
                               "predicted label map and thumbnail go to <its folder>/<dataset>-<fingerprint>-"
                               "<split>/")
    evaluate.add_argument("--overwrite", action="store_true",
                          help="replace an existing evaluation of the same data set and split, or the --merge "
                               "--out file (refused otherwise)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.add_argument("--tta", default=None, choices=TTA_MODES, help=TTA_HELP)
    evaluate.set_defaults(func=cmd_evaluate)

    add_predict(sub, TTA_HELP)
    add_import_export(sub, _size)
    unlike = sub.add_parser("unlike-train", help="score runs' stored evaluations on only the frames that look least "
                                                 "like any training frame (val shares a drive with train)")
    unlike.add_argument("--data", required=True, help="data set folder the runs were evaluated on")
    unlike.add_argument("--runs", nargs="+", required=True, help="run folders, e.g. models/*")
    unlike.add_argument("--split", default="val", help="evaluated split to rank (default: val)")
    unlike.add_argument("--train-split", default="train", help="split the runs trained on (default: train)")
    unlike.add_argument("--share", type=float, default=0.25,
                        help="share of the frames to score, least alike first (default: 0.25)")
    unlike.add_argument("--level", default="class", choices=["class", "category"], help="default: class")
    unlike.add_argument("--store", action="store_true",
                        help="also write each frame's distance into the runs' stored evaluations, so the "
                             "Evaluation page shows the least-alike quarter's mIoU")
    unlike.set_defaults(func=cmd_unlike_train)

    review = sub.add_parser("review", help="the runs' stored evaluations of one data set as a self-contained HTML "
                                           "page to share (scores, per-class report, confusion matrices, "
                                           "calibration, worst frames)")
    review.add_argument("--runs", nargs="+", required=True, help="run folders, e.g. models/unet-camvid-full")
    review.add_argument("--evaluation", default=None,
                        help="stored evaluation every run has, e.g. camvid-val or its full key (default: CamVid "
                             "val where all have it, else the first they share)")
    review.add_argument("--data", default=None,
                        help="the evaluated data set's folder: the worst frames are drawn with their photo and "
                             "ground truth (default: only the stored predictions and thumbnails)")
    review.add_argument("--out", required=True, help="HTML file to write (replaced if it exists)")
    review.add_argument("--class-colours", default=None, metavar="JSON",
                        help='draw the pictures and legends in these class colours, e.g. {"camvid11": {"Road": '
                             '"#ff00ff"}, "categories": {"flat": "#800080"}} (the Side by Side, Frames and Evaluation '
                             "pages save such a file)")
    review.set_defaults(func=cmd_review)
    _add_verbose(top)
    return top


def _leaf_parsers(parser: argparse.ArgumentParser):
    """Every parser that runs a command (the leaves under the subcommands)."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield parser
    for action in subcommands:
        for child in dict.fromkeys(action.choices.values()):   # aliases map to the same parser
            yield from _leaf_parsers(child)


def _add_verbose(top: argparse.ArgumentParser) -> None:
    for leaf in _leaf_parsers(top):
        leaf.add_argument("--verbose", action="store_true",
                          help="also show TensorFlow's own start-up and device logs")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (via Keras) with its start-up lines hidden.

    Some are written to the stderr file descriptor before TensorFlow's logging starts, so no log level hides
    them ("failed call to cuInit: CUDA error" on a machine without a GPU reads like a failure): stderr is sent
    to a temporary file during the import, and shown only if the import fails.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import keras  # noqa: F401 - imports the TensorFlow backend
            if keras.backend.backend() == "tensorflow":
                # CUDA is probed on first device use, which prints its own line: probe it here, hidden.
                import tensorflow as tf
                tf.config.list_physical_devices("GPU")
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    import logging
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def _needs_tensorflow(args) -> bool:
    """Whether the command will load TensorFlow: merging only adds counts, and ONNX or stored-prediction runs
    are served without it (a broken run is left to the command to report)."""
    if args.command not in TENSORFLOW_COMMANDS or getattr(args, "merge", None):
        return False
    if args.command in ("evaluate", "predict") and getattr(args, "run", None):
        from segcore import runs
        run = runs.open_run(args.run)
        return not (run.ok and run.kind in ("onnx", "predictions"))
    return True


def _said(err: Exception) -> str:
    """One line for the user: the system's own errors as "PATH: reason" rather than "[Errno 20] reason: 'PATH'"."""
    if isinstance(err, OSError) and err.strerror and err.filename is not None:
        return f"{err.filename}: {err.strerror.lower()}"
    return str(err)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if _needs_tensorflow(args) and not args.verbose:
        import_tensorflow_quietly()
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader stopped early (`| head`): not an error. Point stdout at devnull so the interpreter's
        # final flush doesn't raise again (the Python docs' recipe for SIGPIPE).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError) as err:   # our errors are ValueError subclasses with a full message
        print(f"segcore {args.command}: error: {_said(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"segcore {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
