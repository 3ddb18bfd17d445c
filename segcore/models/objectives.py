"""Losses and metrics that honour the ignore label; registered so a saved model reloads with no extra arguments.

Losses (`segcore train --loss`, see LOSSES): "ce" pixel cross-entropy; "ce+dice" cross-entropy plus soft Dice;
"lovasz" cross-entropy plus Lovasz-softmax (Berman et al. 2018). keras.ops only, so they train on any backend.
"""
from __future__ import annotations

import keras
from keras import ops


def _flatten(y_true, y_pred, num_classes: int, ignore_index: int):
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    scores = ops.reshape(y_pred, (-1, num_classes))
    valid = ops.logical_and(labels != ignore_index, labels < num_classes)
    return ops.where(valid, labels, 0), scores, ops.cast(valid, "float32")


@keras.saving.register_keras_serializable(package="segcore")
class MaskedSparseCrossEntropy(keras.losses.Loss):
    """Pixel cross-entropy from logits (a stable log-softmax); void pixels ignored; optional per-class weights.

    Each image's loss is the weighted sum over its valid pixels divided by its number of valid pixels, and Keras
    averages the images: so weighting shifts emphasis without changing the loss scale much, and an image with few
    labelled pixels weighs as much as a fully labelled one (an all-void image adds 0 and still counts in the mean).
    Caffe's SoftmaxWithLoss (SegNet's) divides by the valid pixels of the whole batch instead; on CamVid, a few per
    cent void spread over every frame, the two differ little. Kept so that every shipped run and a resumed one train
    with the same loss.

    `from_logits=False` is for models that end in a softmax: runs saved before models output logits, whose
    stored loss config has no `from_logits` and so loads as False. Probabilities are clipped at 1e-7, which
    passes no gradient to a pixel predicted below that; logits have no such floor.
    """

    def __init__(self, num_classes: int, ignore_index: int, class_weights=None, from_logits: bool = True,
                 name="masked_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return self.cross_entropy(*self._pixels(y_true, y_pred))

    def _pixels(self, y_true, y_pred):
        """(labels with void -> 0, scores, valid mask), each (batch, pixels[, classes])."""
        batch = ops.shape(y_pred)[0]
        labels = ops.reshape(ops.cast(y_true, "int32"), (batch, -1))
        scores = ops.reshape(ops.cast(y_pred, "float32"), (batch, -1, self.num_classes))
        valid = ops.logical_and(labels != self.ignore_index, labels < self.num_classes)
        return ops.where(valid, labels, 0), scores, valid

    def cross_entropy(self, safe, scores, valid):
        """Per image: the weighted negative log-likelihood over its valid pixels / its valid pixel count."""
        if self.from_logits:
            log_probs = ops.log_softmax(scores, axis=-1)
            nll = -ops.take_along_axis(log_probs, ops.expand_dims(safe, -1), axis=-1)[..., 0]
        else:
            picked = ops.take_along_axis(scores, ops.expand_dims(safe, -1), axis=-1)[..., 0]
            nll = -ops.log(ops.clip(picked, 1e-7, 1.0))
        weights = ops.cast(valid, "float32")
        if self.class_weights is not None:
            weights = weights * ops.take(ops.convert_to_tensor(self.class_weights, "float32"), safe)
        count = ops.maximum(ops.sum(ops.cast(valid, "float32"), axis=1), 1.0)
        return ops.sum(nll * weights, axis=1) / count

    def probabilities(self, scores):
        return ops.softmax(scores, axis=-1) if self.from_logits else scores

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "ignore_index": self.ignore_index,
                "class_weights": self.class_weights, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        # Saved before models output logits: the loss then took probabilities.
        return cls(**{"from_logits": False, **config})


def _present_mean(per_class, truth_counts):
    """Mean of a per-class loss over the classes present in the truth; 0 when every pixel is void."""
    present = ops.cast(truth_counts > 0, "float32")
    count = ops.sum(present)
    return ops.where(count > 0, ops.sum(per_class * present) / ops.maximum(count, 1.0), 0.0)


def soft_dice_loss(labels, probabilities, valid, num_classes: int):
    """1 - mean over present classes of 2|P∩G| / (|P| + |G|), with soft P from probabilities.

    labels (N,) int (void already replaced by any class), probabilities (N, C), valid (N,) bool: void pixels
    count in neither P nor G.
    """
    valid = ops.expand_dims(ops.cast(valid, "float32"), -1)
    truth = ops.one_hot(labels, num_classes, dtype="float32") * valid
    probabilities = probabilities * valid
    truth_counts = ops.sum(truth, axis=0)
    intersection = ops.sum(probabilities * truth, axis=0)
    dice = 2.0 * intersection / ops.maximum(ops.sum(probabilities, axis=0) + truth_counts, 1e-7)
    return _present_mean(1.0 - dice, truth_counts)


def _lovasz_gradient(truth_sorted):
    """Gradient of the Lovasz extension of the Jaccard loss at pixels sorted by falling error (last axis)."""
    positives = ops.sum(truth_sorted, axis=-1, keepdims=True)
    intersection = positives - ops.cumsum(truth_sorted, axis=-1)
    union = positives + ops.cumsum(1.0 - truth_sorted, axis=-1)
    jaccard = 1.0 - intersection / union
    return ops.concatenate([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], axis=-1)


def lovasz_softmax_loss(labels, probabilities, valid, num_classes: int):
    """Lovasz-softmax over the pixels of the whole batch, mean over the classes present in the truth.

    Same arguments as soft_dice_loss. A void pixel gets error 0 and truth 0, so it sorts after every pixel with
    an error (ties at 0 add nothing): the same value as leaving void pixels out, with static shapes.
    """
    valid = ops.cast(valid, "float32")
    truth = ops.transpose(ops.one_hot(labels, num_classes, dtype="float32") * ops.expand_dims(valid, -1))
    errors = ops.abs(truth - ops.transpose(probabilities)) * valid          # (C, N)
    order = ops.argsort(-errors, axis=-1)
    errors_sorted = ops.take_along_axis(errors, order, axis=-1)
    gradient = ops.stop_gradient(_lovasz_gradient(ops.take_along_axis(truth, order, axis=-1)))
    return _present_mean(ops.sum(errors_sorted * gradient, axis=-1), ops.sum(truth, axis=-1))


class _CrossEntropyPlusRegion(MaskedSparseCrossEntropy):
    """Cross-entropy (per image, class-weighted as configured) plus an unweighted region term over the batch.

    The region term averages over classes present in the batch, so it already weighs each class equally;
    class weights apply to the cross-entropy only. Keras' batch mean of the result is CE mean + region term.
    """

    region_term = None      # f(labels, probabilities, valid, num_classes) -> scalar
    default_name = None     # the loss's name where none is given

    def __init__(self, num_classes: int, ignore_index: int, class_weights=None, from_logits: bool = True,
                 name=None, **kwargs):
        super().__init__(num_classes, ignore_index, class_weights, from_logits, name=name or self.default_name,
                         **kwargs)

    def call(self, y_true, y_pred):
        safe, scores, valid = self._pixels(y_true, y_pred)
        region = self.region_term(ops.reshape(safe, (-1,)),
                                  ops.reshape(self.probabilities(scores), (-1, self.num_classes)),
                                  ops.reshape(valid, (-1,)), self.num_classes)
        return self.cross_entropy(safe, scores, valid) + region


@keras.saving.register_keras_serializable(package="segcore")
class DiceCrossEntropy(_CrossEntropyPlusRegion):
    """`--loss ce+dice`: masked cross-entropy + soft multi-class Dice loss (soft_dice_loss)."""

    region_term = staticmethod(soft_dice_loss)
    default_name = "masked_ce_dice"


@keras.saving.register_keras_serializable(package="segcore")
class LovaszCrossEntropy(_CrossEntropyPlusRegion):
    """`--loss lovasz`: masked cross-entropy + Lovasz-softmax (lovasz_softmax_loss), the two summed."""

    region_term = staticmethod(lovasz_softmax_loss)
    default_name = "masked_ce_lovasz"


LOSSES = {"ce": MaskedSparseCrossEntropy, "ce+dice": DiceCrossEntropy, "lovasz": LovaszCrossEntropy}


def make_loss(name: str, num_classes: int, ignore_index: int, class_weights=None, from_logits: bool = True):
    """The loss `segcore train --loss NAME` compiles."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name](num_classes, ignore_index, class_weights, from_logits=from_logits)


@keras.saving.register_keras_serializable(package="segcore")
class PixelAccuracy(keras.metrics.Metric):
    """Share of non-void pixels whose arg-max class is right (scores may be logits or probabilities)."""

    def __init__(self, num_classes: int, ignore_index: int, name="pixel_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, scores, valid = _flatten(y_true, y_pred, self.num_classes, self.ignore_index)
        hits = ops.cast(ops.argmax(scores, axis=-1) == labels, "float32") * valid
        self.correct.assign_add(ops.sum(hits))
        self.total.assign_add(ops.sum(valid))

    def result(self):
        return self.correct / ops.maximum(self.total, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "ignore_index": self.ignore_index}


def mean_iou_metric(num_classes: int, ignore_index: int) -> keras.metrics.Metric:
    """Keras' MeanIoU on the arg-max of class scores (logits or probabilities), void ignored; classes absent
    from truth and prediction don't count."""
    return keras.metrics.MeanIoU(num_classes=num_classes, ignore_class=ignore_index, sparse_y_pred=False,
                                 name="mean_iou")
