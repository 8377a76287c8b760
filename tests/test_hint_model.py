"""The hint-aware U-Net (issue 30): lite_unet.trunk(hints=True, reference=True) with random
weights. Its inputs and description, that an untrained one given an automatic network's
weights colorizes exactly as that one does, that no hint adds nothing however it is trained,
its .keras round trip with the hint inputs, `colorize` feeding hints to it and refusing them
to a model trained without, and (slow) that a few dozen steps teach it to follow a hint.

`weights=None`: no ImageNet weights are read, but for the one slow test of the shipped model.
"""

import pathlib

import keras
import numpy as np
import pytest

from colornet import color
from colornet.apps import colorize
from colornet.io import decode
from colornet.nets import contract, hints, lite_unet, models
from tests import factories

ENCODER = "efficientnet_lite0_features"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def random_inputs(rng, height=37, width=53, batch=2):
    lightness = rng.uniform(0, 100, (batch, height, width, 1)).astype(np.float32)
    ab = rng.uniform(-80, 80, (height, width, 2))
    hint_input = np.stack([hints.join(*hints.simulate_hints(ab, rng, points=5))
                           for _ in range(batch)])
    reference = np.stack([hints.reference_hint(rng.uniform(0, 1, (20, 30, 3)))] * batch)
    return lightness, hint_input, reference


@pytest.fixture(scope="module")
def automatic_and_hinted():
    """An automatic colorizer and a hint-aware one given all its weights, encoder included."""
    automatic = lite_unet.trunk(weights=None)
    hinted = lite_unet.trunk(weights=None, hints=True, reference=True)
    hinted.get_layer(ENCODER).set_weights(automatic.get_layer(ENCODER).get_weights())
    lite_unet.set_automatic_weights(hinted, lite_unet.trainable_weights_dict(automatic))
    return lite_unet.colorizer(automatic), lite_unet.colorizer(hinted)


def perturb_hint_layers(model, rng, scale=0.5):
    for variable in model.get_layer(lite_unet.TRUNK_NAME).trainable_weights:
        if variable.path.startswith(lite_unet.HINT_LAYER_PREFIXES):
            variable.assign(rng.normal(0, scale, variable.shape).astype(np.float32))


def test_the_hint_aware_trunk_takes_lightness_hints_and_reference_in_that_order():
    trunk = lite_unet.trunk(weights=None, head="regression", image_size=64, hints=True)
    assert [tensor.name for tensor in trunk.inputs] == ["lightness", "hints"]
    assert tuple(trunk.inputs[1].shape) == (None, 64, 64, 3)
    assert tuple(trunk.output.shape) == (None, 16, 16, 2)
    assert lite_unet.takes_hints(trunk) == (True, False)
    new = {path for path in lite_unet.trainable_weights_dict(trunk)
           if path.startswith(lite_unet.HINT_LAYER_PREFIXES)}
    assert {"hint_stem_2/kernel", "hint_inject_0/kernel", "hint_inject_3/kernel"} <= new
    assert not any(path.endswith("bias") for path in new)  # no hint, nothing added


def test_the_colorizer_says_it_takes_hints_and_an_automatic_one_says_it_does_not(
        automatic_and_hinted):
    automatic, hinted = automatic_and_hinted
    assert [tensor.name for tensor in hinted.inputs] == ["lightness", "hints", "reference"]
    assert models.describe(hinted) == contract.Description("lite_unet", hints=True,
                                                           reference=True)
    assert models.describe(automatic) == contract.Description("lite_unet")


def test_an_untrained_hint_model_on_automatic_weights_colorizes_as_the_automatic_one(
        automatic_and_hinted, rng):
    automatic, hinted = automatic_and_hinted
    lightness, hint_input, reference = random_inputs(rng)
    expected = automatic.predict_on_batch(lightness)
    assert np.abs(expected).max() > 0
    # Whatever its hints: the layers that read them are zero-built.
    np.testing.assert_array_equal(hinted.predict_on_batch([lightness, hint_input, reference]),
                                  expected)


def test_no_hint_adds_nothing_however_the_hint_layers_are_trained(automatic_and_hinted, rng):
    automatic, hinted = automatic_and_hinted
    trunk = hinted.get_layer(lite_unet.TRUNK_NAME)
    before = lite_unet.trainable_weights_dict(trunk)
    lightness, hint_input, reference = random_inputs(rng)
    try:
        perturb_hint_layers(hinted, rng)
        no_hints = [lightness, np.zeros_like(hint_input), np.zeros_like(reference)]
        np.testing.assert_array_equal(hinted.predict_on_batch(no_hints),
                                      automatic.predict_on_batch(lightness))
        with_hints = hinted.predict_on_batch([lightness, hint_input, reference])
        assert np.abs(with_hints - automatic.predict_on_batch(lightness)).max() > 1e-4
    finally:
        lite_unet.set_trainable_weights(trunk, before)


def test_set_automatic_weights_still_checks_the_shared_weights(automatic_and_hinted):
    automatic, hinted = automatic_and_hinted
    arrays = lite_unet.trainable_weights_dict(automatic.get_layer(lite_unet.TRUNK_NAME))
    arrays.pop("bin_logits/bias")
    with pytest.raises(ValueError, match=r"1 missing \(bin_logits/bias, ...\), 0 unknown"):
        lite_unet.set_automatic_weights(hinted.get_layer(lite_unet.TRUNK_NAME), arrays)


@pytest.mark.slow
def test_the_hint_colorizer_round_trips_through_a_keras_file_with_its_hint_inputs(
        automatic_and_hinted, rng, tmp_path):
    _, hinted = automatic_and_hinted
    trunk = hinted.get_layer(lite_unet.TRUNK_NAME)
    before = lite_unet.trainable_weights_dict(trunk)
    inputs = list(random_inputs(rng))
    try:
        perturb_hint_layers(hinted, rng)  # so that the hints' weights must survive too
        path = tmp_path / "hinted.keras"
        hinted.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        assert models.describe(loaded).hints and models.describe(loaded).reference
        assert [tensor.name for tensor in loaded.inputs] == ["lightness", "hints", "reference"]
        np.testing.assert_allclose(loaded.predict_on_batch(inputs),
                                   hinted.predict_on_batch(inputs), atol=1e-6)
    finally:
        lite_unet.set_trainable_weights(trunk, before)


def test_colorize_feeds_a_hint_model_its_hints_or_none(automatic_and_hinted, rng):
    automatic, hinted = automatic_and_hinted
    photo = rng.uniform(0, 1, (45, 70, 3)).astype(np.float32)
    trunk = hinted.get_layer(lite_unet.TRUNK_NAME)
    before = lite_unet.trainable_weights_dict(trunk)
    try:
        perturb_hint_layers(hinted, rng)
        plain = colorize.colorize(hinted, photo)
        np.testing.assert_allclose(plain, colorize.colorize(automatic, photo), atol=1e-6)
        hinted_result = colorize.colorize(hinted, photo, hints=[(20, 30, "#c03020")],
                                          reference=photo)
        assert hinted_result.shape == (45, 70, 3)
        assert np.abs(hinted_result - plain).max() > 1e-3
    finally:
        lite_unet.set_trainable_weights(trunk, before)


def test_colorize_checks_the_hints_before_it_colorizes(automatic_and_hinted):
    _, hinted = automatic_and_hinted
    with pytest.raises(ValueError, match=r"hint 1 \(45, 3, '#c03020'\) is outside the photo"):
        colorize.colorize(hinted, np.zeros((45, 70, 3), np.float32), hints=[(45, 3, "#c03020")])
    with pytest.raises(ValueError, match="hints are for one photo"):
        colorize.colorize(hinted, [np.zeros((8, 8, 3))] * 2, hints=[(1, 1, "#c03020")])


def test_a_model_trained_without_hints_refuses_them_in_one_line():
    model = factories.constant_model()
    photo = np.zeros((16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="^this model was trained without hints: constant "
                                         r"\(version_1\) colorizes from the lightness alone"):
        colorize.colorize(model, photo, hints=[(1, 1, "#c03020")])
    with pytest.raises(ValueError, match="^this model was trained without a reference photo"):
        colorize.colorize(model, photo, reference=photo)
    assert colorize.colorize(model, photo, hints=[]).shape == (16, 16, 3)  # none is fine


def test_a_model_saved_before_hints_existed_refuses_them(keras_home):
    old = models.load(ROOT / "tests" / "data" / "old_models" / "old_final_32.keras")
    assert not models.describe(old).hints
    with pytest.raises(ValueError, match="this model was trained without hints"):
        colorize.colorize(old, np.zeros((32, 32, 3), np.float32), hints=[(1, 1, (1, 0, 0))])


@pytest.mark.slow
def test_the_shipped_weights_in_the_hint_network_colorize_as_the_shipped_model():
    from colornet import pretrained

    shipped, hinted = pretrained.load(), pretrained.load(hints=True)
    assert models.describe(hinted).hints and not models.describe(shipped).hints
    photo = decode.load_rgb(ROOT / "data" / "test" / "chelsea.jpg")
    with_hints = colorize.colorize(hinted, photo, hints=[(100, 100, "#2040ff")], reference=photo)
    np.testing.assert_allclose(with_hints, colorize.colorize(shipped, photo), atol=1e-5)


SIDE = 64


def quadrant_photos(rng, count):
    """Photos of four quadrants, each of one lightness and one colour drawn independently:
    the lightness tells where a region is, nothing tells its colour but a hint."""
    lightness = np.empty((count, SIDE, SIDE, 1), np.float32)
    ab = np.empty((count, SIDE, SIDE, 2), np.float32)
    half = SIDE // 2
    for index in range(count):
        for top in (0, half):
            for left in (0, half):
                quadrant = (index, slice(top, top + half), slice(left, left + half))
                lightness[quadrant] = rng.uniform(30, 80)
                ab[quadrant] = rng.uniform(-60, 60, 2)
    return lightness, ab


def block_means(ab):
    """(n, S, S, 2) ab → the regression head's target, 4 × 4 block means over AB_SCALE."""
    blocks = ab.reshape(len(ab), SIDE // 4, 4, SIDE // 4, 4, 2).mean(axis=(2, 4))
    return blocks / color.AB_SCALE


@pytest.mark.slow
def test_a_hint_moves_its_regions_colour_toward_the_hint_after_a_short_training():
    keras.utils.set_random_seed(0)
    trunk = lite_unet.trunk(weights=None, head="regression", image_size=SIDE, hints=True)
    trunk.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=True)
    rng = np.random.default_rng(0)
    for _ in range(120):  # Zhang et al.'s simulated hints, as training would give them
        lightness, ab = quadrant_photos(rng, 8)
        simulated = np.stack([hints.join(*hints.simulate_hints(each, rng)) for each in ab])
        trunk.train_on_batch([lightness, simulated], block_means(ab))

    lightness, ab = quadrant_photos(np.random.default_rng(99), 16)
    colours = color.lab_to_rgb(np.concatenate([lightness, ab], -1)[:, 16, 16])
    one_hint = np.stack([hints.join(*hints.hint_map([(16, 16, colour)], (SIDE, SIDE),
                                                    (SIDE, SIDE), patch_side=5))
                         for colour in colours])  # in the top-left quadrant, its own colour
    truth = block_means(ab)[:, :8, :8]
    without = trunk.predict_on_batch([lightness, np.zeros_like(one_hint)])[:, :8, :8]
    hinted = trunk.predict_on_batch([lightness, one_hint])[:, :8, :8]
    error_without = np.abs(without - truth).mean() * color.AB_SCALE
    error_hinted = np.abs(hinted - truth).mean() * color.AB_SCALE
    assert error_hinted < 0.6 * error_without, (error_hinted, error_without)
