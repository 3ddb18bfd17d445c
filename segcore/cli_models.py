"""`segcore predict`, `segcore import` and `segcore export`: a run's masks out; models and predictions made by other
tools in, ONNX out."""
from __future__ import annotations

from segcore.predict import TTA_MODES


def cmd_predict(args) -> int:
    from segcore import class_colours
    from segcore.outputs import predict_files
    colours = class_colours.read(args.class_colours) if args.class_colours else None
    for path in predict_files(args.run, args.images, args.out, fmt=args.format, tta=args.tta, colours=colours,
                              overwrite=args.overwrite):
        print(path)
    return 0


def cmd_import(args) -> int:
    if args.predictions:
        from segcore import runs
        from segcore.importing_predictions import import_predictions, no_class_note
        if args.preprocess or args.input_size or args.void_channel is not None:
            raise ValueError("--preprocess, --input-size and --void-channel describe a model; a prediction folder "
                             "has none of them (its void pixels are read as no class): leave them out")
        out, count = import_predictions(args.model, args.out, schema=args.schema, name=args.name,
                                        label_ids=args.label_ids)
        print(f"imported {count} prediction{'' if count == 1 else 's'} from {args.model} as run {out}")
        note = no_class_note(runs.read_json(out / runs.META_FILE))
        if note:
            print(note)
        return 0
    if args.label_ids:
        raise ValueError("--label-ids says what a folder of predicted label PNGs holds; add --predictions, or leave "
                         "it out for a model file")
    from segcore.importing import import_model
    if args.model.lower().endswith(".keras") and not args.verbose:
        from segcore.cli import import_tensorflow_quietly
        import_tensorflow_quietly()
    out = import_model(args.model, args.out, schema=args.schema, preprocess=args.preprocess,
                       input_size=args.input_size, name=args.name, void=args.void_channel)
    print(f"imported {args.model} as run {out}")
    return 0


def cmd_export(args) -> int:
    from segcore.importing import export_onnx
    path, agreement = export_onnx(args.run, args.out, overwrite=args.overwrite)
    print(f"wrote {path} (onnxruntime's arg-max equals Keras' on {agreement:.2%} of a sample frame's pixels)")
    return 0


def add_predict(sub, tta_help: str) -> None:
    """The predict subcommand on `sub`; `tta_help` is the --tta help evaluate shares."""
    predict = sub.add_parser("predict", help="masks at each image's own resolution")
    predict.add_argument("--run", required=True, help="run folder, e.g. models/unet-camvid")
    predict.add_argument("images", nargs="+", help="PNG or JPEG images")
    predict.add_argument("--out", required=True, help="folder for the predicted PNGs")
    predict.add_argument("--format", default="labels", choices=["labels", "color", "overlay"],
                         help="labels: class ids; color: the schema's colours; overlay: colours over the image")
    predict.add_argument("--tta", default=None, choices=TTA_MODES, help=tta_help)
    predict.add_argument("--overwrite", action="store_true",
                         help="replace earlier outputs of the same names in --out (refused otherwise)")
    predict.add_argument("--class-colours", default=None, metavar="JSON",
                         help="draw --format overlay in these class colours (a file the dashboard's Class colours "
                              "saves, e.g. {\"camvid11\": {\"Road\": \"#ff00ff\"}})")
    predict.set_defaults(func=cmd_predict)


def add_import_export(sub, size_type) -> None:
    """The import and export subcommands on `sub`; `size_type` parses HxW arguments."""
    model = sub.add_parser("import", help="make a run folder from a model trained elsewhere (.onnx or .keras) "
                                          "or from a folder of predicted label PNGs (--predictions)")
    model.add_argument("model", help="MODEL.onnx or MODEL.keras (.keras files load in safe mode: no custom code), "
                                     "or PRED_DIR with --predictions")
    model.add_argument("--predictions", action="store_true",
                       help="the path is a folder of label PNGs (train ids of --schema, or its colours), one per "
                            "image, named like the image (X.png, X_pred.png; Cityscapes <city>_<seq>_<frame>*.png)")
    model.add_argument("--label-ids", action="store_true",
                       help="with --predictions: the PNGs hold the schema's label ids as its ground-truth files do "
                            "(Cityscapes labelIds, the benchmark's result format), not train ids; stored as train "
                            "ids")
    model.add_argument("--schema", default=None,
                       help="classes the model predicts: camvid11, cityscapes, categories or a schema JSON file "
                            "(default: from the file's metadata, as `segcore export` writes it)")
    model.add_argument("--out", required=True, help="run folder to create, e.g. models/deeplab-onnx")
    model.add_argument("--preprocess", default=None, choices=["raw", "unit", "tf", "torch", "caffe"],
                       help="input scaling the model expects: raw (RGB 0..255), unit (x/255), tf (-1..1), torch "
                            "(x/255, ImageNet mean/std), caffe (BGR minus ImageNet means) (default: from the "
                            "file's metadata, else raw)")
    model.add_argument("--input-size", type=size_type, default=None,
                       help="HxW input for models with free spatial sides, e.g. 512x1024 (default: as declared)")
    model.add_argument("--void-channel", type=int, default=None, metavar="N",
                       help="the model outputs one channel more than the schema has classes, and channel N of them "
                            "means void (e.g. 11 for a 12-class CamVid model whose last class is Unlabelled): where it "
                            "wins, the pixel gets no class, scored as a miss of its true class")
    model.add_argument("--name", default=None,
                       help="what the model is, shown as its architecture on Home (default: the file's or folder's "
                            "name)")
    model.set_defaults(func=cmd_import)

    export = sub.add_parser("export", help="write a run's model as ONNX, schema and preprocessing in its metadata")
    export.add_argument("--run", required=True, help="run folder, e.g. models/unet-camvid")
    export.add_argument("--format", default="onnx", choices=["onnx"], help="file format (only onnx)")
    export.add_argument("--out", required=True, help="file to write, e.g. unet-camvid.onnx")
    export.add_argument("--overwrite", action="store_true", help="replace --out if it exists (refused otherwise)")
    export.set_defaults(func=cmd_export)
