"""Loss and metrics that honour the ignore label; registered so a saved model reloads with no extra arguments."""
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

    Each image's loss is the weighted sum over its valid pixels divided by its number of valid pixels
    (the SegNet/Caffe convention), so weighting shifts emphasis without changing the loss scale much.

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
        batch = ops.shape(y_pred)[0]
        labels = ops.reshape(ops.cast(y_true, "int32"), (batch, -1))
        scores = ops.reshape(ops.cast(y_pred, "float32"), (batch, -1, self.num_classes))
        valid = ops.logical_and(labels != self.ignore_index, labels < self.num_classes)
        safe = ops.where(valid, labels, 0)
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

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "ignore_index": self.ignore_index,
                "class_weights": self.class_weights, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        # Saved before models output logits: the loss then took probabilities.
        return cls(**{"from_logits": False, **config})


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
