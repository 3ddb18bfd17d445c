"""Command line front door: `segcore data check`, `sample make`, `train`, `evaluate`, `predict`.

Every expected failure (bad folder, bad file, bad option) ends as one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import sys


def _size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 240x320 (height x width), got {text!r}") from None
    if height < 8 or width < 8:
        raise argparse.ArgumentTypeError("size must be at least 8x8")
    return height, width


def cmd_data_check(args) -> int:
    from segcore.datasets import check, format_report
    report = check(args.dir, args.schema)
    print(format_report(report))
    return 0 if report.ok else 1


def cmd_sample_make(args) -> int:
    from segcore.synth import make_sample
    result = make_sample(args.out, n_train=args.train, n_val=args.val, seed=args.seed)
    print(f"wrote {result['train']} train and {result['val']} val frames to {args.out}")
    return 0


def cmd_train(args) -> int:
    from segcore.train import TrainConfig, train
    options = {}
    for item in args.option or []:
        key, _, value = item.partition("=")
        options[key] = float(value) if "." in value else int(value)
    config = TrainConfig(arch=args.arch, data=args.data, out=args.out, schema=args.schema, size=args.size,
                         epochs=args.epochs, batch=args.batch, augment=args.augment,
                         class_weights=args.class_weights, learning_rate=args.lr, strategy=args.strategy,
                         loader=args.loader, seed=args.seed, arch_options=options,
                         steps_per_epoch=args.steps_per_epoch)
    out = train(config, resume=args.resume)
    print(f"run saved in {out}")
    return 0


def cmd_evaluate(args) -> int:
    from segcore.evaluate import evaluate_run, format_evaluation
    result, path = evaluate_run(args.run, args.data, args.split, schema=args.schema, out=args.out,
                                progress=not args.quiet)
    print(format_evaluation(result))
    print(f"wrote {path}")
    return 0


def cmd_predict(args) -> int:
    from segcore.predict import predict_files
    for path in predict_files(args.run, args.images, args.out, fmt=args.format):
        print(path)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="segcore", description="Street-scene segmentation: data, training, "
                                                              "evaluation and prediction.")
    sub = top.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="data set tools").add_subparsers(dest="data_command", required=True)
    check = data.add_parser("check", help="pair images and labels, report counts, sizes, class shares, problems")
    check.add_argument("dir")
    check.add_argument("--schema", default=None, help="camvid11 | cityscapes (default: from the layout)")
    check.set_defaults(func=cmd_data_check)

    sample = sub.add_parser("sample", help="sample data").add_subparsers(dest="sample_command", required=True)
    make = sample.add_parser("make", help="regenerate the procedural sample data set (byte-identical)")
    make.add_argument("--out", default="data/sample")
    make.add_argument("--train", type=int, default=16)
    make.add_argument("--val", type=int, default=8)
    make.add_argument("--seed", type=int, default=0)
    make.set_defaults(func=cmd_sample_make)

    train = sub.add_parser("train", help="train a model into a run folder")
    train.add_argument("--arch", required=True, choices=["unet", "segnet", "segnet-mobilenet"])
    train.add_argument("--data", required=True)
    train.add_argument("--schema", default=None)
    train.add_argument("--size", type=_size, default=(240, 320), help="HxW model input, e.g. 240x320")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--batch", type=int, default=8)
    train.add_argument("--augment", default=None, help="albumentations pipeline JSON/YAML (e.g. from the lab)")
    train.add_argument("--class-weights", default="none", choices=["none", "median-frequency"])
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--out", required=True)
    train.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    train.add_argument("--strategy", default="default", choices=["default", "mirrored", "multiworker"])
    train.add_argument("--loader", default="tf", choices=["tf", "pydataset"])
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--steps-per-epoch", type=int, default=None)
    train.add_argument("--option", action="append", metavar="KEY=VALUE",
                       help="architecture option, e.g. base_filters=32 (repeatable)")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="score a run on a labelled split; writes eval JSON")
    evaluate.add_argument("--run", required=True)
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--split", default="val")
    evaluate.add_argument("--schema", default=None)
    evaluate.add_argument("--out", default=None, help="JSON path (default: RUN/eval/<dataset>-<split>.json)")
    evaluate.add_argument("--quiet", action="store_true")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", help="masks at each image's own resolution")
    predict.add_argument("--run", required=True)
    predict.add_argument("images", nargs="+")
    predict.add_argument("--out", required=True)
    predict.add_argument("--format", default="labels", choices=["labels", "color", "overlay"])
    predict.set_defaults(func=cmd_predict)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as err:   # our errors are ValueError subclasses with a full message
        print(f"segcore {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"segcore {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
