"""Keras helpers that know nothing of colour: batched prediction and walking nested models."""

import logging

import keras
import numpy as np


def predict_batches(model, inputs, batch_size=8):
    """`model.predict` on a numpy array, without its tf.data pipeline: one `predict_on_batch`
    per batch.

    Keras's `predict` feeds numpy through tf.data, whose threads compete with the model for
    the cores of a small CPU (docs/performance.md, "Performance"). A short batch is padded (its
    last row repeated) to the next power of two, at most `batch_size`: a model is traced for a
    handful of batch shapes, not for every count of photos, and a single photo is not padded at
    all.

    A model of several inputs (a hint-aware colorizer) takes a list of arrays with the same
    rows, batched alike.

    Returns:
        float32 numpy, one output row per input row.
    """
    several = isinstance(inputs, (list, tuple))
    arrays = [np.asarray(each) for each in inputs] if several else [np.asarray(inputs)]
    if not len(arrays[0]):
        raise ValueError("nothing to predict: the input has no rows")
    outputs = []
    for start in range(0, len(arrays[0]), batch_size):
        batch = [each[start : start + batch_size] for each in arrays]
        count = len(batch[0])
        padded_count = min(batch_size, 1 << (count - 1).bit_length())
        if padded_count > count:
            batch = [np.concatenate([each, np.repeat(each[-1:], padded_count - count, axis=0)])
                     for each in batch]
        predicted = model.predict_on_batch(batch if several else batch[0])
        outputs.append(np.asarray(predicted, dtype=np.float32)[:count])
    return np.concatenate(outputs)


def _is_not_a_retracing_warning(record):
    return "triggered tf.function retracing" not in record.getMessage()


def quiet_retracing_warnings():
    """Drop TensorFlow's warning that a function was traced again ("5 out of the last 5 calls
    to ... triggered tf.function retracing"), keeping its other log lines.

    For a program that predicts photos of many sizes (`predict_batches` traces the model once
    per input shape), where tracing again is expected; the warning's advice is for whoever
    wrote the function. Calling it again changes nothing.
    """
    logger = logging.getLogger("tensorflow")
    if _is_not_a_retracing_warning not in logger.filters:
        logger.addFilter(_is_not_a_retracing_warning)


def nested_layers(model):
    """Every layer inside `model`, depth first: those of nested models too, and of any layer
    that wraps a model in its `classifier` attribute (`backbones.FrozenBackbone`)."""
    for layer in model.layers:
        yield layer
        inner = layer if isinstance(layer, keras.Model) else getattr(layer, "classifier", None)
        if isinstance(inner, keras.Model):
            yield from nested_layers(inner)
