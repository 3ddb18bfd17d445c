"""Training recipes (issue 14): --loss ce | ce+dice | lovasz, --warmup-epochs, --holdout-sequence; old runs resume."""
import csv
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import make_camvid_like
from test_logits import numpy_masked_cross_entropy
from segcore import train_backup
from segcore.datasets import DatasetError, Sample, hold_out_sequence, sequence_of
from segcore.train_config import LOSSES, TrainConfig, learning_rate_schedule, resume_differences

ROOT = Path(__file__).resolve().parents[1]
TINY_OPTIONS = {"base_filters": 4, "depth": 2, "stem_filters": 4}
TINY = [arg for key, value in TINY_OPTIONS.items() for arg in ("--option", f"{key}={value}")]
VOID = 9


def segcore(*args):
    return subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


# ------------------------------------------------------------------------------------------ NumPy references

def softmax(logits):
    shifted = logits.astype(np.float64) - logits.max(-1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)


def numpy_cross_entropy(labels, logits, class_weights=None):
    """Per image: weighted -log softmax over its non-void pixels / their count; then the batch mean."""
    return numpy_masked_cross_entropy(labels, logits, VOID, class_weights)


def non_void_pixels(labels, probabilities):
    labels, probabilities = labels.ravel(), probabilities.reshape(labels.size, -1)
    keep = labels != VOID
    return labels[keep], probabilities[keep]


def numpy_dice_per_class(labels, probabilities):
    """{class present in the batch: 1 - 2|P∩G| / (|P| + |G|)}, void pixels left out."""
    labels, probabilities = non_void_pixels(labels, probabilities)
    losses = {}
    for c in np.unique(labels):
        truth = labels == c
        losses[int(c)] = 1 - 2 * probabilities[truth, c].sum() / (probabilities[:, c].sum() + truth.sum())
    return losses


def numpy_lovasz_per_class(labels, probabilities):
    """{class present: Lovasz extension of its Jaccard loss} (Berman et al. 2018, eq. 8-9), void pixels left out.

    Pixels sorted by falling error |fg - p|; the loss of calling the first i of them wrong is
    Delta(i) = i / (|G| + background pixels among the first i); the extension is sum_i error_i (Delta(i) - Delta(i-1)).
    """
    labels, probabilities = non_void_pixels(labels, probabilities)
    losses = {}
    for c in np.unique(labels):
        truth = (labels == c).astype(np.float64)
        errors = np.abs(truth - probabilities[:, c])
        order = np.argsort(-errors, kind="stable")
        delta = [0.0]
        for i in range(1, len(order) + 1):
            delta.append(i / (truth.sum() + (1 - truth[order[:i]]).sum()))
        losses[int(c)] = float(np.dot(errors[order], np.diff(delta)))
    return losses


@pytest.fixture(scope="module")
def example():
    """Two 3x4 images, 4 classes, void 9; class 3 appears in neither image; logits up to +-80."""
    rng = np.random.default_rng(11)
    logits = rng.normal(0, 3, (2, 3, 4, 4)).astype("float32")
    logits[0, 0, 0] = [80.0, -80.0, 0.0, 5.0]
    labels = rng.integers(0, 3, (2, 3, 4))
    labels[0, 0, 0] = 1                                       # confidently wrong
    labels[0, 1, :3] = VOID
    labels[1, 2, 3] = VOID
    assert 3 not in labels and set(np.unique(labels)) == {0, 1, 2, VOID}
    return labels, logits


def make(name, class_weights=None, from_logits=True):
    from segcore.models.objectives import make_loss
    return make_loss(name, 4, VOID, class_weights, from_logits=from_logits)


# ------------------------------------------------------------------------------------------ loss values

def test_every_cli_loss_has_a_keras_loss_and_the_cli_offers_them_all():
    from segcore.cli import parser
    from segcore.models.objectives import LOSSES as KERAS_LOSSES
    train = parser()._subparsers._group_actions[0].choices["train"]
    loss_option = next(a for a in train._actions if "--loss" in a.option_strings)
    assert tuple(KERAS_LOSSES) == LOSSES == tuple(loss_option.choices) and loss_option.default == "ce"


@pytest.mark.parametrize("class_weights", [None, [0.5, 2.0, 3.0, 7.0]])
def test_each_loss_equals_its_numpy_reference(example, class_weights):
    labels, logits = example
    probabilities = softmax(logits)
    cross_entropy = numpy_cross_entropy(labels, logits, class_weights)
    dice = np.mean(list(numpy_dice_per_class(labels, probabilities).values()))
    lovasz = np.mean(list(numpy_lovasz_per_class(labels, probabilities).values()))
    assert dice > 0.05 and lovasz > 0.05
    expected = {"ce": cross_entropy, "ce+dice": cross_entropy + dice, "lovasz": cross_entropy + lovasz}
    for name in LOSSES:
        value = float(make(name, class_weights)(labels, logits))
        assert value == pytest.approx(expected[name], rel=1e-5), name
    # A model that ends in a softmax (runs saved before logits) gets the same loss from its probabilities,
    # where no probability is below the 1e-7 clip (the saturated pixel made milder).
    mild = logits.copy()
    mild[0, 0, 0] = [2.0, -2.0, 0.0, 1.0]
    for name in LOSSES:
        from_probabilities = float(make(name, class_weights, from_logits=False)(labels, softmax(mild)))
        assert from_probabilities == pytest.approx(float(make(name, class_weights)(labels, mild)), rel=1e-5), name


def test_region_terms_average_over_present_classes_only(example):
    """Class 3 is absent: counting it (Dice 1; Lovasz its highest probability, Berman's "all") gives another value."""
    from keras import ops

    from segcore.models.objectives import lovasz_softmax_loss, soft_dice_loss
    labels, logits = example
    probabilities = softmax(logits)
    flat_labels = ops.convert_to_tensor(np.where(labels == VOID, 0, labels).reshape(-1), "int32")
    flat_probabilities = ops.convert_to_tensor(probabilities.reshape(-1, 4), "float32")
    valid = ops.convert_to_tensor(labels.reshape(-1) != VOID)
    for function, reference in [(soft_dice_loss, numpy_dice_per_class), (lovasz_softmax_loss, numpy_lovasz_per_class)]:
        per_class = reference(labels, probabilities)
        assert sorted(per_class) == [0, 1, 2]
        value = float(function(flat_labels, flat_probabilities, valid, 4))
        assert value == pytest.approx(np.mean(list(per_class.values())), rel=1e-5)
        with_absent = reference(labels, probabilities)
        with_absent[3] = 1.0 if function is soft_dice_loss else probabilities[labels != VOID][:, 3].max()
        assert value != pytest.approx(np.mean(list(with_absent.values())), rel=1e-3)


def test_void_pixels_do_not_change_any_loss(example):
    labels, logits = example
    scrambled = logits.copy()
    scrambled[labels == VOID] = np.random.default_rng(3).normal(0, 30, scrambled[labels == VOID].shape)
    for name in LOSSES:
        assert float(make(name)(labels, scrambled)) == pytest.approx(float(make(name)(labels, logits)), rel=1e-6)


def test_perfect_predictions_leave_nothing_for_dice_and_lovasz(example):
    labels, _ = example
    logits = 40.0 * np.eye(4, dtype="float32")[np.where(labels == VOID, 3, labels)]
    logits[labels == VOID] = np.random.default_rng(5).normal(0, 5, (int((labels == VOID).sum()), 4))
    for name in LOSSES:
        assert 0 <= float(make(name)(labels, logits)) < 1e-4, name
    # An all-void batch: no class present, nothing to learn, and no NaN.
    for name in LOSSES:
        assert float(make(name)(np.full_like(labels, VOID), logits)) == pytest.approx(0.0, abs=1e-7), name


def value_and_gradient(function, x):
    import keras
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            value = function(variable)
        return float(value), tape.gradient(value, variable).numpy()
    if keras.backend.backend() == "jax":
        import jax
        value, gradient = jax.value_and_grad(function)(x)
        return float(value), np.asarray(gradient)
    pytest.skip(f"no gradient helper for the {keras.backend.backend()} backend")


@pytest.mark.parametrize("name", LOSSES)
def test_gradients_are_finite_and_match_finite_differences(example, name):
    labels, logits = example
    loss = make(name)
    value, gradient = value_and_gradient(lambda x: loss(labels, x), logits)
    assert np.isfinite(value) and np.all(np.isfinite(gradient)) and np.abs(gradient).max() > 1e-3
    assert np.all(gradient[labels == VOID] == 0)                     # void pixels pass no gradient
    direction = np.random.default_rng(2).normal(0, 1, logits.shape).astype("float32")
    direction[0, 0, 0] = 0                                          # the saturated pixel: float32 noise only
    step = 1e-3
    numeric = (float(loss(labels, logits + step * direction)) - float(loss(labels, logits - step * direction))) \
        / (2 * step)
    assert float((gradient * direction).sum()) == pytest.approx(numeric, rel=2e-2, abs=1e-3)
    # Perfect predictions (errors tie at ~0 for Lovasz's sort) still give finite gradients.
    perfect = 40.0 * np.eye(4, dtype="float32")[np.where(labels == VOID, 3, labels)]
    _, gradient = value_and_gradient(lambda x: loss(labels, x), perfect)
    assert np.all(np.isfinite(gradient))


@pytest.mark.parametrize("name", LOSSES)
def test_a_model_saved_with_each_loss_loads_in_safe_mode(tmp_path, example, name):
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3, 4, 3)), keras.layers.Conv2D(4, 1)])
    model.compile(optimizer="adam", loss=make(name, [1.0, 2.0, 3.0, 4.0]))
    model.optimizer.build(model.trainable_variables)               # saved with its slots, as after training
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert type(again.loss) is type(model.loss) and again.loss.get_config() == model.loss.get_config()
    labels, logits = example
    assert float(again.loss(labels, logits)) == pytest.approx(float(model.loss(labels, logits)), rel=1e-6)
    inference = keras.models.load_model(tmp_path / "m.keras", compile=False, safe_mode=True)
    x = np.random.default_rng(0).uniform(0, 1, (1, 3, 4, 3)).astype("float32")
    np.testing.assert_allclose(inference.predict_on_batch(x), model.predict_on_batch(x), atol=1e-6)


# ------------------------------------------------------------------------------------------ configuration

@pytest.mark.parametrize("changes, message", [
    ({"loss": "dice"}, "loss (--loss) must be one of ce, ce+dice, lovasz, got 'dice'"),
    ({"warmup_epochs": -1}, "warmup_epochs (--warmup-epochs) must be a whole number from 0 to 9"),
    ({"warmup_epochs": 10}, "(fewer than --epochs 10), got 10"),
    ({"warmup_epochs": 1.5}, "warmup_epochs (--warmup-epochs)"),
    ({"holdout_sequence": ""}, "holdout_sequence (--holdout-sequence) must be a sequence name"),
    ({"holdout_sequence": "0006R0_f001"}, "e.g. 0006R0"),
    ({"train_split": "train+"}, "train_split (--train-split) must name splits joined by '+', each once"),
    ({"train_split": "train+train"}, "e.g. train or train+val, got 'train+train'"),
])
def test_impossible_recipe_settings_are_refused_in_one_line(changes, message):
    with pytest.raises(ValueError) as error:
        TrainConfig(arch="unet", data="d", out="o", epochs=10, **changes)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_warmup_rises_linearly_to_the_peak_then_decays_as_before():
    config = TrainConfig(arch="unet", data="d", out="o", epochs=10, learning_rate=1e-3, warmup_epochs=2)
    schedule = learning_rate_schedule(config, steps_per_epoch=5)      # 10 warm-up steps, then 40 of cosine
    at = {step: float(schedule(step)) for step in (0, 5, 10, 30, 50, 80)}
    assert at[0] == pytest.approx(0.0, abs=1e-12)
    assert at[5] == pytest.approx(5e-4, rel=1e-5)                     # half way up
    assert at[10] == pytest.approx(1e-3, rel=1e-5)                    # the peak, --lr
    assert at[30] == pytest.approx(1e-3 * (0.02 + 0.98 * 0.5), rel=1e-4)   # cosine half way down
    assert at[50] == pytest.approx(2e-5, rel=1e-4) and at[80] == pytest.approx(2e-5, rel=1e-4)
    # No warm-up: exactly the schedule runs were trained with before the option existed.
    import keras
    plain = learning_rate_schedule(replace(config, warmup_epochs=0), steps_per_epoch=5)
    before = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=50, alpha=0.02)
    assert plain.get_config() == before.get_config()
    assert [float(plain(s)) for s in (0, 7, 25, 50)] == [float(before(s)) for s in (0, 7, 25, 50)]


# ------------------------------------------------------------------------------------------ hold-out sequence

def samples(*names):
    return [Sample(name, Path(f"{name}.png"), Path(f"{name}_L.png")) for name in names]


def test_hold_out_sequence_splits_frames_by_their_sequence_prefix():
    frames = samples("0001TP_006690", "0006R0_f00930", "0006R0_f00960", "0016E5_00390", "0016E5_06360", "noseq")
    assert [sequence_of(s.name) for s in frames] == ["0001TP", "0006R0", "0006R0", "0016E5", "0016E5", None]
    assert sequence_of("aachen/aachen_000000_000019") == "aachen"
    train, val = hold_out_sequence(frames, "0006R0")
    assert [s.name for s in val] == ["0006R0_f00930", "0006R0_f00960"]
    assert [s.name for s in train] == ["0001TP_006690", "0016E5_00390", "0016E5_06360", "noseq"]
    assert not {s.name for s in train} & {s.name for s in val}


def test_hold_out_refuses_an_unknown_sequence_and_one_that_leaves_nothing_to_train_on():
    with pytest.raises(DatasetError) as error:
        hold_out_sequence(samples("0001TP_1", "0006R0_2"), "0016E5")
    message = str(error.value)
    assert "no training frame is named 0016E5_<frame>" in message and "0001TP, 0006R0" in message
    with pytest.raises(DatasetError) as error:
        hold_out_sequence(samples("0006R0_1", "0006R0_2"), "0006R0")
    assert "would leave none to train on" in str(error.value) and "\n" not in str(error.value)


# ------------------------------------------------------------------------------------------ resume of older runs

@pytest.mark.parametrize("run", ["unet-camvid", "segnet-camvid"])
def test_a_committed_run_from_before_the_recipe_options_resumes_with_their_defaults(run):
    """These meta.json files predate --loss/--warmup-epochs/--holdout-sequence: same options -> no difference."""
    meta = json.loads((ROOT / "models" / run / "meta.json").read_text())
    assert not {"loss", "warmup_epochs", "holdout_sequence"} & set(meta["config"])
    config = TrainConfig(**meta["config"])
    counts = meta["dataset"]["train"], meta["dataset"]["val"]
    assert resume_differences(meta, config, None, None, *counts) == []
    assert resume_differences(meta, replace(config, loss="lovasz"), None, None, *counts) == ["loss: 'ce' -> 'lovasz'"]
    assert resume_differences(meta, replace(config, warmup_epochs=2), None, None, *counts) == ["warmup_epochs: 0 -> 2"]
    assert resume_differences(meta, replace(config, holdout_sequence="0006R0"), None, None, *counts) == [
        "holdout_sequence: None -> '0006R0'"]


def old_style_interrupted_run(config: TrainConfig) -> Path:
    """A run folder as a training killed before the recipe options existed leaves it."""
    out = Path(config.out)
    (out / train_backup.BACKUP_DIR).mkdir(parents=True)
    stored = {k: v for k, v in config.record().items() if k not in ("loss", "warmup_epochs", "holdout_sequence")}
    (out / "meta.json").write_text(json.dumps({"config": stored, "dataset": {"train": 4, "val": 2}}))
    return out


@pytest.mark.slow   # trains a tiny model for one step
def test_an_old_style_interrupted_run_resumes_and_a_changed_recipe_is_refused(tmp_path):
    from segcore.runs import RunError
    from segcore.train import train
    data = make_camvid_like(tmp_path / "data")
    config = TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "run"), size=(32, 48), batch=2,
                         epochs=1, steps_per_epoch=1, arch_options=dict(TINY_OPTIONS))
    out = old_style_interrupted_run(config)
    with pytest.raises(RunError) as error:
        train(replace(config, loss="ce+dice"), resume=True, verbose=0)
    assert "can't resume" in str(error.value) and "loss: 'ce' -> 'ce+dice'" in str(error.value)
    train(config, resume=True, verbose=0)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["epochs_completed"] == 1 and meta["finished"]
    assert (meta["config"]["loss"], meta["config"]["warmup_epochs"], meta["config"]["holdout_sequence"]) == \
        ("ce", 0, None)


# ------------------------------------------------------------------------------------------ training

@pytest.mark.slow
@pytest.mark.parametrize("name", LOSSES)
def test_a_few_steps_train_with_each_loss_and_the_run_records_it(tmp_path, name):
    from segcore.train import train
    data = make_camvid_like(tmp_path / "data")
    run = train(TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "run"), size=(32, 48), epochs=1,
                            batch=2, steps_per_epoch=2, loss=name, class_weights="median-frequency",
                            arch_options=dict(TINY_OPTIONS)), verbose=0, callbacks=[compiled := Compiled()])
    meta = json.loads((run / "meta.json").read_text())
    assert meta["config"]["loss"] == name and meta["dataset"]["val_from"] == "the val split"
    with (run / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and np.isfinite(float(rows[0]["loss"])) and np.isfinite(float(rows[0]["val_loss"]))
    from segcore.models.objectives import LOSSES as KERAS_LOSSES
    assert type(compiled.loss) is KERAS_LOSSES[name] and compiled.loss.from_logits is True


def Compiled():  # noqa: N802 - reads as the callback class it returns
    """A callback that keeps what training compiled: its loss and its learning-rate schedule's config (a finished
    run's model file holds weights only)."""
    import keras

    class Record(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.loss = self.model.loss
            self.learning_rate = self.model.optimizer.get_config()["learning_rate"]
    return Record()


def sequence_named_data(root: Path) -> Path:
    """Six train frames: three of sequence 0001TP, three of 0006R0 (CamVid's <sequence>_<frame>.png)."""
    make_camvid_like(root, splits=(("train", 6), ("val", 2)))
    for folder in ("images", "labels"):
        for i, path in enumerate(sorted((root / folder / "train").iterdir())):
            path.rename(path.with_name(f"{'0001TP' if i < 3 else '0006R0'}_{path.name}"))
    return root


@pytest.mark.slow
def test_cli_trains_on_other_sequences_validates_on_the_held_out_one_and_warms_up(tmp_path):
    data = sequence_named_data(tmp_path / "data")
    run = tmp_path / "run"
    result = segcore("train", "--arch", "unet", "--data", data, "--size", "32x48", "--epochs", 2, "--batch", 2,
                     "--steps-per-epoch", 1, "--lr", "1e-3", "--warmup-epochs", 1, "--loss", "lovasz",
                     "--holdout-sequence", "0006R0", "--out", run, *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((run / "meta.json").read_text())
    assert (meta["config"]["loss"], meta["config"]["warmup_epochs"], meta["config"]["holdout_sequence"]) == \
        ("lovasz", 1, "0006R0")
    assert meta["dataset"]["train"] == 3 and meta["dataset"]["val"] == 3
    assert meta["dataset"]["val_from"] == "sequence 0006R0 held out of the train split (not trained on)"
    assert meta["best"]["selected_by"] == ("highest val_mean_iou on sequence 0006R0 held out of the train split "
                                           "(not trained on)")
    assert meta["optimizer_steps"] == 2


@pytest.mark.slow
def test_warm_up_then_cosine_decay_is_the_schedule_training_runs_with(tmp_path):
    from segcore.train import train
    data = make_camvid_like(tmp_path / "data")
    train(TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "run"), size=(32, 48), epochs=2, batch=2,
                      steps_per_epoch=1, learning_rate=1e-3, warmup_epochs=1, arch_options=dict(TINY_OPTIONS)),
          verbose=0, callbacks=[compiled := Compiled()])
    # One step an epoch: one step of warm-up from 0 to the peak rate, then one of cosine decay.
    schedule = compiled.learning_rate
    assert schedule["class_name"] == "CosineDecay"
    assert {key: schedule["config"][key] for key in ("initial_learning_rate", "warmup_target", "warmup_steps",
                                                    "decay_steps", "alpha")} == \
        {"initial_learning_rate": 0.0, "warmup_target": 1e-3, "warmup_steps": 1, "decay_steps": 1, "alpha": 0.02}


@pytest.mark.slow
def test_a_final_model_trains_on_train_and_val_and_keeps_its_last_epoch(tmp_path):
    from segcore.train import train
    data = make_camvid_like(tmp_path / "data", splits=(("train", 4), ("val", 2)))
    for folder in ("images", "labels"):                          # val frames named apart from train's
        for path in (data / folder / "val").iterdir():
            path.rename(path.with_name(f"v{path.name}"))
    run = train(TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "run"), size=(32, 48), epochs=3,
                            batch=2, train_split="train+val", arch_options=dict(TINY_OPTIONS)), verbose=0)
    meta = json.loads((run / "meta.json").read_text())
    assert (meta["dataset"]["train"], meta["dataset"]["val"]) == (6, 2)
    assert meta["dataset"]["val_from"] == "the val split, which it also trains on"
    assert meta["best"]["epoch"] == 2 and meta["best"]["selected_by"].startswith("the last epoch (no selection")
    assert meta["optimizer_steps"] == 9                          # 3 epochs of 6 frames in batches of 2
    from segcore.datasets import frame_names_digest, list_pairs
    assert meta["dataset"]["frame_names"] == {split: frame_names_digest(list_pairs(data, split))
                                              for split in ("train", "val")}


def test_cli_refuses_training_on_a_missing_split_or_splits_that_share_frames(tmp_path):
    data = make_camvid_like(tmp_path / "data")                   # train and val both hold f000.png, f001.png
    for splits, needle in (("train+test", "no split 'test'; found ['train', 'val']"),
                           ("train+val", "frames f000, f001 are in more than one of the splits train+val")):
        lines = train_error_lines(segcore("train", "--arch", "unet", "--data", data, "--size", "32x48",
                                          "--train-split", splits, "--out", tmp_path / "run", *TINY))
        assert len(lines) == 1 and needle in lines[0], lines
        assert not (tmp_path / "run").exists()


def train_error_lines(result) -> list[str]:
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    return [line for line in result.stderr.splitlines() if line.startswith("segcore train: error:")]


@pytest.mark.parametrize("args, needle", [
    (["--loss", "focal"], "argument --loss: invalid choice: 'focal'"),
    (["--warmup-epochs", "3", "--epochs", "3"], "warmup_epochs (--warmup-epochs) must be a whole number from 0 to 2"),
    (["--holdout-sequence", "0016E5"], "choose one of the train split's sequences: 0001TP, 0006R0"),
])
def test_cli_bad_recipe_values_give_one_line(tmp_path, args, needle):
    data = sequence_named_data(tmp_path / "data")
    lines = train_error_lines(segcore("train", "--arch", "unet", "--data", data, "--size", "32x48",
                                      "--out", tmp_path / "run", *TINY, *args))
    assert len(lines) == 1 and needle in lines[0], lines
    assert not (tmp_path / "run").exists()


def test_cli_refuses_holding_out_the_only_sequence(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    for folder in ("images", "labels"):
        for path in (data / folder / "train").iterdir():
            path.rename(path.with_name(f"0006R0_{path.name}"))
    lines = train_error_lines(segcore("train", "--arch", "unet", "--data", data, "--out", tmp_path / "run",
                                      "--holdout-sequence", "0006R0", *TINY))
    assert len(lines) == 1 and "would leave none to train on" in lines[0], lines


@pytest.mark.parametrize("crop, said", [
    ("CropNonEmptyMaskIfExists", "(Crop size (64,96) is larger than image (32,48))"),
    ("RandomCrop", "(Crop size (height, width) exceeds image dimensions"),      # albumentations' CropSizeError
])
def test_cli_refuses_a_pipeline_that_cannot_run_on_the_frames_with_one_line(tmp_path, crop, said):
    data = make_camvid_like(tmp_path / "data")                              # 32x48 frames
    pipeline = tmp_path / "crop.json"
    import albumentations as A
    A.save(A.Compose([getattr(A, crop)(height=64, width=96, p=1.0)]), str(pipeline))
    lines = train_error_lines(segcore("train", "--arch", "unet", "--data", data, "--size", "32x48",
                                      "--augment", pipeline, "--out", tmp_path / "run", *TINY))
    assert len(lines) == 1, lines
    assert "the pipeline can't run on the train frame f000: a step can't be drawn on this 32x48 frame " + said in \
        lines[0] and "put PadIfNeeded before a crop larger than the frames" in lines[0]
    assert not (tmp_path / "run").exists()
