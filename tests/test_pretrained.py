"""The pretrained colorizer: its files load, round-trip through export, refuse a wrong file in
one line, and are the default of every command that colorizes."""

import json

import numpy as np
import pytest

from colornet import metrics, pretrained
from colornet.apps import colorize
from colornet.io import decode, save
from colornet.nets import lite_unet, models
from colornet.pretrained import recipe
from tests.conftest import DATA_DIR
from tests.test_cli import run_cli


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    """A run folder as `recipe.train` leaves it after one epoch, with a random decoder, and a
    corpus folder of two photos per split (no MANIFEST: folders of photos)."""
    root = tmp_path_factory.mktemp("pretrained")
    run_dir, corpus_dir = root / "run", root / "corpus"
    (run_dir / "epochs").mkdir(parents=True)
    trunk = lite_unet.trunk(weights=None)
    weights = lite_unet.trainable_weights_dict(trunk)
    np.savez(run_dir / "epochs" / "epoch-001.npz", **weights)
    config = recipe.RecipeConfig(epochs=1)
    (run_dir / recipe.CONFIG_NAME).write_text(json.dumps(vars(config)))
    (run_dir / recipe.LOG_NAME).write_text("epoch,loss\n1,2.5\n")
    for split in ("train", "validation", "held_out"):
        for name in ("chelsea", "rocket"):
            photo = decode.load_rgb(DATA_DIR / "test" / f"{name}.jpg")
            save.save_image(corpus_dir / split / f"{name}.png", photo[::4, ::4])
    return run_dir, corpus_dir, weights


@pytest.mark.slow
def test_export_writes_float16_weights_that_load_back_into_the_network(fake_run, tmp_path):
    run_dir, corpus_dir, weights = fake_run
    path = recipe.write_shipped_files(run_dir, 1, corpus_dir, folder=tmp_path, temperature=0.5)
    description = pretrained.info(tmp_path)
    assert description["network"]["temperature"] == 0.5
    assert description["trained_on"]["corpus_manifest_sha256"] is None  # no MANIFEST there
    assert description["network"]["decoder_parameters"] == sum(w.size for w in weights.values())
    with np.load(path) as saved:
        assert {saved[key].dtype for key in saved.files} == {np.dtype(np.float16)}
    model = pretrained.load(tmp_path)
    assert models.describe(model).variant == "lite_unet"
    assert models.describe(model).trained_on is None  # no MANIFEST, nothing to name
    loaded = lite_unet.trainable_weights_dict(model.get_layer(lite_unet.TRUNK_NAME))
    for key, value in weights.items():
        np.testing.assert_allclose(loaded[key], value, rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_the_exported_model_colorizes_any_size_from_lightness(fake_run, tmp_path):
    run_dir, corpus_dir, _ = fake_run
    recipe.write_shipped_files(run_dir, 1, corpus_dir, folder=tmp_path)
    model = pretrained.load(tmp_path)
    lightness = np.linspace(0, 100, 37 * 53, dtype=np.float32).reshape(37, 53)
    ab = colorize.predict_ab(model, lightness)
    assert ab.shape == (37, 53, 2)
    assert np.all(np.abs(ab) <= 128)


def test_a_missing_model_is_one_line_naming_the_file(tmp_path):
    with pytest.raises(pretrained.PretrainedError, match="no pretrained colorizer at .*json"):
        pretrained.load(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["not an archive", "other weights", "wrong shape"])
def test_a_wrong_weights_file_is_one_line_saying_what_to_do(fake_run, tmp_path, bad):
    run_dir, corpus_dir, weights = fake_run
    path = recipe.write_shipped_files(run_dir, 1, corpus_dir, folder=tmp_path)
    if bad == "not an archive":
        path.write_bytes(b"these are not weights")
    elif bad == "other weights":
        np.savez(path, kernel=np.zeros((3, 3), np.float16))
    else:
        first = sorted(weights)[0]
        np.savez(path, **{**weights, first: np.zeros((1, 1), np.float16)})
    with pytest.raises(pretrained.PretrainedError) as error:
        pretrained.load(tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message and "reinstall colornet" in message


def test_exporting_an_epoch_the_run_does_not_have_is_refused(fake_run, tmp_path):
    run_dir, corpus_dir, _ = fake_run
    with pytest.raises(pretrained.PretrainedError, match="has no weights of epoch 7"):
        recipe.write_shipped_files(run_dir, 7, corpus_dir, folder=tmp_path)


# ---------------------------------------------------------------------------------------------
# The model that ships


def test_the_shipped_model_describes_what_it_was_trained_on_and_how_well_it_does():
    description = pretrained.info()
    assert description["network"]["variant"] == "efficientnet_lite0"
    assert len(description["trained_on"]["corpus_manifest_sha256"]) == 64
    held_out = description["scores"]["held_out"]
    assert set(held_out) >= {"psnr", "grey_psnr", "ssim", "ab_error", "colourfulness"}
    assert pretrained.paths()[2].is_file()  # its training log


@pytest.mark.slow
def test_the_shipped_model_colours_a_photo_it_never_trained_on():
    """The sample cat (the corpus's validation split, never trained on): the shipped model's
    colours are closer to the original's than no colour at all, and vivid."""
    original = decode.load_rgb(DATA_DIR / "test" / "chelsea.jpg")
    result = colorize.colorize(pretrained.load(), [original])[0]
    grey = metrics.grey_baseline(original)
    assert metrics.ab_error(original, result) < metrics.ab_error(original, grey)
    assert metrics.colourfulness(result) > 0.4 * metrics.colourfulness(original)


@pytest.mark.slow
def test_colorize_with_no_model_uses_the_shipped_one(tmp_path):
    photo = tmp_path / "in" / "cat.jpg"
    save.save_image(photo, decode.load_rgb(DATA_DIR / "test" / "chelsea.jpg"))
    result = run_cli("colorize", photo, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    colour = decode.load_rgb(tmp_path / "out" / "cat.jpg")
    assert colour.shape == decode.load_rgb(photo).shape
    assert metrics.colourfulness(colour) > 5


@pytest.mark.slow
def test_the_web_page_serves_the_shipped_model_when_given_none():
    from colornet.apps import web_work

    served = web_work.served_model(None, label="pretrained")
    assert served.variant == "lite_unet" and served.precision == "float32"
    assert models.describe(served.model).trained_on.startswith("corpus MANIFEST sha256 ")
    assert "U-Net on EfficientNet-Lite" in served.describe()
