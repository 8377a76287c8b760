"""Both networks against the write-up's model tables, layer for layer."""

import keras
import numpy as np
import pytest

from colornet.nets import keras_utils, models, zhang

# The write-up's Version 1 table: (layer type, output shape, parameters).
VERSION_1_TABLE = [
    ("Conv2D", (None, None, None, 8), 80),
    ("Conv2D", (None, None, None, 8), 584),
    ("Conv2D", (None, None, None, 16), 1168),
    ("Conv2D", (None, None, None, 16), 2320),
    ("Conv2D", (None, None, None, 32), 4640),
    ("Conv2D", (None, None, None, 32), 9248),
    ("UpSampling2D", (None, None, None, 32), 0),
    ("Conv2D", (None, None, None, 32), 9248),
    ("UpSampling2D", (None, None, None, 32), 0),
    ("Conv2D", (None, None, None, 16), 4624),
    ("UpSampling2D", (None, None, None, 16), 0),
    ("Conv2D", (None, None, None, 2), 290),
]

# The write-up's final-version table, in its order. Its RepeatVector + Reshape pair is one
# FuseEmbedding layer here, listed at the Reshape's row with the Reshape's output shape.
FINAL_TABLE = [
    ("InputLayer", (None, 256, 256, 1), 0),
    ("Conv2D", (None, 128, 128, 64), 640),
    ("Conv2D", (None, 128, 128, 128), 73856),
    ("Conv2D", (None, 64, 64, 128), 147584),
    ("Conv2D", (None, 64, 64, 256), 295168),
    ("Conv2D", (None, 32, 32, 256), 590080),
    ("Conv2D", (None, 32, 32, 512), 1180160),
    ("Conv2D", (None, 32, 32, 512), 2359808),
    ("Conv2D", (None, 32, 32, 256), 1179904),
    ("InputLayer", (None, 1000), 0),
    ("FuseEmbedding", (None, 32, 32, 1000), 0),
    ("Concatenate", (None, 32, 32, 1256), 0),
    ("Conv2D", (None, 32, 32, 256), 321792),
    ("Conv2D", (None, 32, 32, 128), 295040),
    ("UpSampling2D", (None, 64, 64, 128), 0),
    ("Conv2D", (None, 64, 64, 64), 73792),
    ("UpSampling2D", (None, 128, 128, 64), 0),
    ("Conv2D", (None, 128, 128, 32), 18464),
    ("Conv2D", (None, 128, 128, 16), 4624),
    ("Conv2D", (None, 128, 128, 2), 290),
    ("UpSampling2D", (None, 256, 256, 2), 0),
]


def layer_rows(model):
    return [
        (type(layer).__name__, tuple(layer.output.shape), layer.count_params())
        for layer in model.layers
    ]


def test_version_1_matches_the_write_up_table_layer_for_layer():
    model = models.single_image_net()
    assert layer_rows(model) == VERSION_1_TABLE
    assert model.count_params() == 32_202
    assert model.layers[-1].activation is keras.activations.tanh


def test_version_1_has_three_stride_2_convolutions_among_the_first_six():
    convolutions = list(models.single_image_net().layers[:6])
    assert sum(layer.strides == (2, 2) for layer in convolutions) == 3


@pytest.mark.parametrize("height, width", [(8, 8), (64, 40), (256, 256), (120, 200)])
def test_version_1_keeps_any_size_that_divides_by_8(height, width):
    output = models.single_image_net().predict(np.zeros((1, height, width, 1)), verbose=0)
    assert output.shape == (1, height, width, 2)
    assert np.abs(output).max() <= 1.0


def test_final_model_matches_the_write_up_table_layer_for_layer():
    model = models.fusion_colorizer()
    assert layer_rows(model) == FINAL_TABLE
    assert model.count_params() == 6_541_202
    assert model.get_layer("decoder_ab").activation is keras.activations.tanh


def test_final_model_names_its_inputs_and_output():
    model = models.fusion_colorizer(image_size=64)
    assert set(model.input) == {"lightness", "embedding"}
    assert model.output_names == ["ab"]
    prediction = model.predict(
        {"lightness": np.zeros((2, 64, 64, 1)), "embedding": np.zeros((2, 1000))}, verbose=0
    )
    assert prediction.shape == (2, 64, 64, 2)


def test_final_model_weights_work_at_any_multiple_of_8():
    trained_size = models.fusion_colorizer(image_size=64)
    any_size = models.fusion_colorizer(image_size=None)
    any_size.set_weights(trained_size.get_weights())
    lightness = np.random.default_rng(0).random((1, 64, 64, 1)).astype(np.float32)
    embedding = np.random.default_rng(1).random((1, 1000)).astype(np.float32)
    inputs = {"lightness": lightness, "embedding": embedding}
    np.testing.assert_allclose(
        any_size.predict(inputs, verbose=0), trained_size.predict(inputs, verbose=0), atol=1e-5
    )
    wide = {"lightness": np.zeros((1, 48, 96, 1)), "embedding": embedding}
    assert any_size.predict(wide, verbose=0).shape == (1, 48, 96, 2)


def test_fusion_uses_the_embedding():
    model = models.fusion_colorizer(image_size=32, embedding_size=10)
    lightness = np.full((1, 32, 32, 1), 0.1, np.float32)
    first = model.predict({"lightness": lightness, "embedding": np.zeros((1, 10))}, verbose=0)
    second = model.predict({"lightness": lightness, "embedding": np.ones((1, 10))}, verbose=0)
    assert np.abs(first - second).max() > 1e-4


def test_final_model_survives_a_keras_file_round_trip(tmp_path):
    model = models.fusion_colorizer(image_size=32, embedding_size=16)
    path = tmp_path / "fusion.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    inputs = {
        "lightness": np.random.default_rng(0).random((2, 32, 32, 1)).astype(np.float32),
        "embedding": np.random.default_rng(1).random((2, 16)).astype(np.float32),
    }
    np.testing.assert_array_equal(
        loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0)
    )


def test_the_classification_head_is_the_annealed_mean_of_bin_logits_upsampled():
    """Checked against the annealed mean written out in numpy: softmax(logits / T) over the
    bins' ab, at half size, then each pixel repeated 2 × 2."""
    model = models.fusion_colorizer(image_size=32, embedding_size=8, head="classification")
    inputs = {
        "lightness": np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32),
        "embedding": np.random.default_rng(1).random((2, 8)).astype(np.float32),
    }
    logits = models.logits_network(model).predict(inputs, verbose=0)
    assert logits.shape == (2, 16, 16, len(zhang.ab_bins()))
    sharpened = np.exp((logits - logits.max(-1, keepdims=True)) / zhang.ANNEALED_TEMPERATURE)
    sharpened /= sharpened.sum(-1, keepdims=True)
    expected = (sharpened @ zhang.ab_bins() / 128).repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_allclose(model.predict(inputs, verbose=0), expected, atol=1e-5)
    assert models.head_of(model) == "classification"
    assert models.head_of(models.fusion_colorizer(image_size=32)) == "regression"


def test_a_classification_colorizer_survives_a_keras_file_round_trip(tmp_path):
    model = models.colorizer(
        image_size=32, backbone="mobilenet_v3_small", backbone_weights=None, head="classification"
    )
    model.save(tmp_path / "colorizer.keras")
    loaded = keras.saving.load_model(tmp_path / "colorizer.keras", safe_mode=True)
    lightness = np.random.default_rng(0).uniform(0, 100, (1, 32, 32, 1)).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.predict(lightness, verbose=0), model.predict(lightness, verbose=0)
    )
    assert models.head_of(loaded) == "classification"
    with pytest.raises(ValueError, match="no classification head"):
        models.logits_network(models.fusion_colorizer(image_size=32))


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"image_size": 100}, "multiple of 8"),
        ({"image_size": 0}, "multiple of 8"),
        ({"embedding_size": 0}, "embedding_size"),
        ({"upsampling": "cubic"}, "upsampling"),
        ({"head": "bins"}, "head must be one of regression, classification"),
    ],
)
def test_final_model_rejects_bad_arguments_clearly(arguments, message):
    with pytest.raises(ValueError, match=message):
        models.fusion_colorizer(**arguments)


def test_the_end_to_end_colorizer_is_one_file_that_loads_safely_and_predicts_the_same(tmp_path):
    model = models.colorizer(image_size=32, backbone="mobilenet_v3_small", backbone_weights=None)
    assert model.count_params() > 6_541_202  # the backbone is inside
    assert sum(np.prod(weight.shape) for weight in model.trainable_weights) == 6_541_202
    path = tmp_path / "colorizer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    lightness = np.random.default_rng(0).uniform(0, 100, (2, 32, 32, 1)).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.predict(lightness, verbose=0), model.predict(lightness, verbose=0),
    )
    assert loaded.output_names == ["ab"]


def test_predict_batches_matches_predict_and_pads_short_batches_to_a_power_of_two():
    net = models.single_image_net()
    inputs = np.random.default_rng(0).uniform(-1, 1, (7, 16, 16, 1)).astype(np.float32)
    shapes = []
    original = net.predict_on_batch
    net.predict_on_batch = lambda batch: shapes.append(len(batch)) or original(batch)
    predicted = keras_utils.predict_batches(net, inputs, batch_size=4)
    np.testing.assert_allclose(predicted, net.predict(inputs, verbose=0), atol=1e-5)
    assert predicted.dtype == np.float32 and predicted.shape == (7, 16, 16, 2)
    assert shapes == [4, 4]  # 4, then 3 padded to 4
    for count, padded in ((1, 1), (2, 2), (3, 4), (5, 8)):
        shapes.clear()
        predicted = keras_utils.predict_batches(net, inputs[:count], batch_size=8)
        assert predicted.shape == (count, 16, 16, 2)
        assert shapes == [padded]
    with pytest.raises(ValueError, match="no rows"):
        keras_utils.predict_batches(net, inputs[:0])
